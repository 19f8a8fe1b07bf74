using System.Runtime.InteropServices;

namespace Xenstore.Server.Reactor;

/// <summary>
/// The sends and receives of one step of the store thread's loop: queued per connection, then carried out together
/// by <see cref="Complete"/> (<see cref="SocketOperations"/>: one io_uring submission when the kernel offers it,
/// plain non-blocking calls otherwise) and reported to their connections in the order they were queued. Buffers
/// must be pinned arrays (<see cref="PinnedBuffer"/>): the kernel reads and writes them while the runtime may be
/// collecting garbage on another thread.
/// </summary>
internal sealed class SocketIoBatch : IDisposable
{
    private const uint RingEntries = 256;
    private const int NoResult = int.MinValue;

    private readonly Action<ISocketIoTarget, Exception> _failed;
    private IoUring? _ring;
    private Queued[] _queued = new Queued[64];
    private Queued[] _reporting = new Queued[64];
    private int _count;
    private SocketOperation[] _operations = new SocketOperation[64];
    private int[] _results = new int[64];
    private int[] _owners = new int[64];

    public SocketIoBatch(bool useIoUring, Action<ISocketIoTarget, Exception> failed)
    {
        _ring = useIoUring ? IoUring.TryCreate(RingEntries) : null;
        _failed = failed;
    }

    /// <summary>True when the batches go through io_uring.</summary>
    public bool UsesIoUring => _ring is not null;

    public void Receive(ISocketIoTarget target, int descriptor, byte[] buffer, int offset, int length) =>
        Add(new Queued(target, new SocketOperation(IoUring.OpRecv, descriptor, Address(buffer, offset), length)));

    public void Send(ISocketIoTarget target, int descriptor, byte[] buffer, int offset, int length) =>
        Add(new Queued(target, new SocketOperation(IoUring.OpSend, descriptor, Address(buffer, offset), length)));

    /// <summary>Carries out everything queued and reports each result to its connection.</summary>
    public void Complete()
    {
        if (_count == 0)
        {
            return;
        }
        // Reports may queue operations for a later batch: they go into the other array.
        Queued[] queued = _queued;
        int count = _count;
        (_queued, _reporting) = (_reporting, _queued);
        _count = 0;
        try
        {
            Run(queued, count);
            for (int i = 0; i < count; i++)
            {
                Report(queued[i]);
            }
        }
        finally
        {
            Array.Clear(queued, 0, count);
        }
    }

    private void Add(Queued queued)
    {
        if (_count == _queued.Length)
        {
            Array.Resize(ref _queued, _count * 2);
        }
        _queued[_count++] = queued;
    }

    /// <summary>The operations of connections still open (a closed one's descriptor may already be reused).</summary>
    private void Run(Queued[] queued, int count)
    {
        if (_operations.Length < count)
        {
            _operations = new SocketOperation[queued.Length];
            _results = new int[queued.Length];
            _owners = new int[queued.Length];
        }
        int submitted = 0;
        for (int i = 0; i < count; i++)
        {
            if (queued[i].Target.IsOpen)
            {
                _operations[submitted] = queued[i].Operation;
                _results[submitted] = NoResult;
                _owners[submitted++] = i;
            }
        }
        try
        {
            SocketOperations.Run(_ring, _operations.AsSpan(0, submitted), _results.AsSpan(0, submitted));
        }
        catch (IOException)
        {
            // io_uring_enter failed (EINTR is retried; the completion queue cannot overflow): whatever did not
            // complete fails its connection, and the batches go on as plain system calls.
            _results.AsSpan(0, submitted).Replace(NoResult, -Errno.EIO);
            _ring?.Dispose();
            _ring = null;
        }
        for (int k = 0; k < submitted; k++)
        {
            queued[_owners[k]].Result = _results[k];
        }
    }

    private void Report(in Queued queued)
    {
        if (!queued.Target.IsOpen)
        {
            return;
        }
        try
        {
            if (queued.Operation.Opcode == IoUring.OpRecv)
            {
                queued.Target.ReceiveCompleted(queued.Result);
            }
            else
            {
                queued.Target.SendCompleted(queued.Result);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _failed(queued.Target, e);
        }
    }

    private static nint Address(byte[] pinned, int offset) => Marshal.UnsafeAddrOfPinnedArrayElement(pinned, offset);

    public void Dispose() => _ring?.Dispose();

    private record struct Queued(ISocketIoTarget Target, SocketOperation Operation)
    {
        public int Result { get; set; }
    }
}
