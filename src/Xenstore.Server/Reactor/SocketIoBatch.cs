using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Xenstore.Server.Reactor;

/// <summary>
/// The sends and receives of one step of the store thread's loop: queued per connection, then carried out together
/// by <see cref="Complete"/> — through one io_uring submission when the kernel offers it and there is more than one,
/// otherwise one non-blocking system call each — and reported to their connections in the order they were queued.
/// Buffers must be pinned arrays (<see cref="PinnedBuffer"/>): the kernel reads and writes them while the runtime
/// may be collecting garbage on another thread.
/// </summary>
internal sealed unsafe class SocketIoBatch : IDisposable
{
    private const uint RingEntries = 256;
    private const int EIo = 5;
    private const int NoResult = int.MinValue;

    private IoUring? _ring;
    private readonly Action<ISocketIoTarget, Exception> _failed;
    private Operation[] _operations = new Operation[64];
    private Operation[] _reporting = new Operation[64];
    private int _count;

    public SocketIoBatch(bool useIoUring, Action<ISocketIoTarget, Exception> failed)
    {
        _ring = useIoUring ? IoUring.TryCreate(RingEntries) : null;
        _failed = failed;
    }

    /// <summary>True when the batches go through io_uring.</summary>
    public bool UsesIoUring => _ring is not null;

    public void Receive(ISocketIoTarget target, int descriptor, byte[] buffer, int offset, int length) =>
        Add(new Operation(target, IoUring.OpRecv, descriptor, buffer, offset, length));

    public void Send(ISocketIoTarget target, int descriptor, byte[] buffer, int offset, int length) =>
        Add(new Operation(target, IoUring.OpSend, descriptor, buffer, offset, length));

    /// <summary>Carries out everything queued and reports each result to its connection.</summary>
    public void Complete()
    {
        if (_count == 0)
        {
            return;
        }
        // Reports may queue operations for a later batch: they go into the other array.
        Operation[] operations = _operations;
        int count = _count;
        (_operations, _reporting) = (_reporting, _operations);
        _count = 0;
        try
        {
            if (_ring is null || count == 1)
            {
                for (int i = 0; i < count; i++)
                {
                    operations[i].Result = operations[i].Target.IsOpen ? Direct(operations[i]) : 0;
                }
            }
            else
            {
                RunOnRing(operations, count);
            }
            for (int i = 0; i < count; i++)
            {
                Report(operations[i]);
            }
        }
        finally
        {
            Array.Clear(operations, 0, count);
        }
    }

    private void Add(Operation operation)
    {
        if (_count == _operations.Length)
        {
            Array.Resize(ref _operations, _count * 2);
        }
        _operations[_count++] = operation;
    }

    private void RunOnRing(Operation[] operations, int count)
    {
        try
        {
            SubmitOnRing(_ring!, operations, count);
        }
        catch (IOException)
        {
            // io_uring_enter failed (EINTR is retried; the completion queue cannot overflow): whatever did not
            // complete fails its connection, and the batches go on as plain system calls.
            for (int i = 0; i < count; i++)
            {
                if (operations[i].Result == NoResult)
                {
                    operations[i].Result = -EIo;
                }
            }
            _ring!.Dispose();
            _ring = null;
        }
    }

    private static void SubmitOnRing(IoUring ring, Operation[] operations, int count)
    {
        for (int start = 0; start < count; start += (int)ring.Capacity)
        {
            int end = Math.Min(count, start + (int)ring.Capacity);
            int prepared = 0;
            for (int i = start; i < end; i++)
            {
                ref Operation operation = ref operations[i];
                if (!operation.Target.IsOpen)
                {
                    operation.Result = 0;
                    continue;
                }
                operation.Result = NoResult;
                ring.Prepare(operation.Opcode, operation.Descriptor, Address(operation), operation.Length,
                    Flags(operation.Opcode), (ulong)i);
                prepared++;
            }
            if (prepared == 0)
            {
                continue;
            }
            ring.SubmitAndWait(prepared);
            while (ring.TryReap(out ulong index, out int result))
            {
                operations[(int)index].Result = result;
            }
        }
    }

    private void Report(in Operation operation)
    {
        if (!operation.Target.IsOpen)
        {
            return;
        }
        try
        {
            if (operation.Opcode == IoUring.OpRecv)
            {
                operation.Target.ReceiveCompleted(operation.Result);
            }
            else
            {
                operation.Target.SendCompleted(operation.Result);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _failed(operation.Target, e);
        }
    }

    private static int Direct(in Operation operation)
    {
        nint result = operation.Opcode == IoUring.OpRecv
            ? Libc.Receive(operation.Descriptor, Address(operation), operation.Length, Flags(operation.Opcode))
            : Libc.Send(operation.Descriptor, Address(operation), operation.Length, Flags(operation.Opcode));
        return result < 0 ? -Marshal.GetLastPInvokeError() : (int)result;
    }

    // Never block (epoll said the socket was ready; a full socket buffer is EAGAIN, not a wait) and never raise
    // SIGPIPE for a client that went away.
    private static int Flags(byte opcode) => opcode == IoUring.OpRecv ? Libc.MsgDontWait : Libc.MsgDontWait | Libc.MsgNoSignal;

    private static byte* Address(in Operation operation) =>
        (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(operation.Buffer)) + operation.Offset;

    public void Dispose() => _ring?.Dispose();

    private record struct Operation(ISocketIoTarget Target, byte Opcode, int Descriptor, byte[] Buffer, int Offset, int Length)
    {
        public int Result { get; set; }
    }
}
