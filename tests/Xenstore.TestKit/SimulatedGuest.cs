using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using Xenstore.Protocol;

namespace Xenstore.TestKit;

/// <summary>
/// A guest domain's side of the simulated hypervisor, as a guest kernel's xenbus driver would drive it: the
/// 4096-byte page <c>DIR/ring.N</c> (mapped shared), notifications written as the u32 <c>100+N</c> into the FIFO
/// <c>DIR/evt</c>. Works against our daemon (--sim-dir DIR) and the reference daemons (refxs REFXS_RINGS=1).
/// Responses are polled, since the reference daemons never notify guests.
/// </summary>
public sealed unsafe class SimulatedGuest : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _page;
    private readonly string _eventFifo;
    private readonly List<byte> _received = [];
    private readonly Queue<RawMessage> _events = new();
    private uint _nextReqId = 1;
    private long _sequence;

    private SimulatedGuest(string directory, uint domid)
    {
        Domid = domid;
        string path = Path.Combine(directory, $"ring.{domid}");
        using (var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite))
        {
            stream.SetLength(RingLayout.PageSize);
        }
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, RingLayout.PageSize, MemoryMappedFileAccess.ReadWrite);
        _view = _file.CreateViewAccessor(0, RingLayout.PageSize, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _page = pointer + _view.PointerOffset;
        _eventFifo = Path.Combine(directory, "evt");
    }

    public uint Domid { get; }

    /// <summary>Creates the guest's page (zeroed) before the toolstack introduces the domain.</summary>
    public static SimulatedGuest Create(string directory, uint domid) => new(directory, domid);

    public uint ServerFeatures => Read(RingLayout.ServerFeatures);

    public uint ErrorField => Read(RingLayout.Error);

    public uint ConnectionField => Read(RingLayout.Connection);

    public uint Read(int offset) => Volatile.Read(ref *(uint*)(_page + offset));

    public void Write(int offset, uint value) => Volatile.Write(ref *(uint*)(_page + offset), value);

    /// <summary>Events received so far and not yet taken.</summary>
    public IReadOnlyCollection<RawMessage> PendingEvents => _events;

    public void Notify()
    {
        Span<byte> port = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(port, 100 + Domid);
        using var fifo = new FileStream(_eventFifo, FileMode.Open, FileAccess.Write);
        fifo.Write(port);
    }

    /// <summary>Writes bytes into the request ring (waiting for space), then notifies.</summary>
    public void SendRaw(ReadOnlySpan<byte> bytes, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? RawConnection.DefaultTimeout);
        while (!bytes.IsEmpty)
        {
            uint consumer = Read(RingLayout.RequestConsumer);
            uint producer = Read(RingLayout.RequestProducer);
            Interlocked.MemoryBarrier();
            int space = RingLayout.RingSize - (int)(producer - consumer);
            if (space <= 0)
            {
                Notify();
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("the daemon does not consume the request ring");
                }
                Thread.Sleep(1);
                continue;
            }
            int count = Math.Min(space, bytes.Length);
            WriteIntoRing(producer, bytes[..count]);
            bytes = bytes[count..];
            Notify();
        }
    }

    /// <summary>
    /// Puts a whole request into the request ring without notifying the daemon (the ring must have room), so a test
    /// can choose when, and together with what, the daemon learns of it. Returns the req_id.
    /// </summary>
    public uint Enqueue(XsMessageType type, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[XsConstants.HeaderSize + payload.Length];
        uint reqId = _nextReqId++;
        FrameParser.Write(frame, type, reqId, 0, payload);
        uint producer = Read(RingLayout.RequestProducer);
        if (RingLayout.RingSize - (int)(producer - Read(RingLayout.RequestConsumer)) < frame.Length)
        {
            throw new InvalidOperationException("no room in the request ring");
        }
        WriteIntoRing(producer, frame);
        return reqId;
    }

    /// <summary>Copies bytes that fit into the request ring at <paramref name="producer"/>, then publishes them.</summary>
    private void WriteIntoRing(uint producer, ReadOnlySpan<byte> bytes)
    {
        int position = (int)(producer & (RingLayout.RingSize - 1));
        int first = Math.Min(bytes.Length, RingLayout.RingSize - position);
        bytes[..first].CopyTo(new Span<byte>(_page + RingLayout.Request + position, first));
        bytes[first..].CopyTo(new Span<byte>(_page + RingLayout.Request, bytes.Length - first));
        Interlocked.MemoryBarrier();
        Write(RingLayout.RequestProducer, producer + (uint)bytes.Length);
    }

    /// <summary>Notifies for several guests in one write of the event FIFO, which the daemon reads as one.</summary>
    public static void NotifyTogether(string directory, params SimulatedGuest[] guests)
    {
        byte[] ports = new byte[4 * guests.Length];
        for (int i = 0; i < guests.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ports.AsSpan(4 * i), 100 + guests[i].Domid);
        }
        using var fifo = new FileStream(Path.Combine(directory, "evt"), FileMode.Open, FileAccess.Write);
        fifo.Write(ports);
    }

    public uint Send(XsMessageType type, ReadOnlySpan<byte> payload, uint txId = 0)
    {
        uint reqId = _nextReqId++;
        var frame = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(frame, type, reqId, txId, payload);
        SendRaw(frame);
        return reqId;
    }

    /// <summary>Sends a request and returns its reply; watch events that arrive meanwhile are kept.</summary>
    public RawMessage Request(XsMessageType type, ReadOnlySpan<byte> payload, uint txId = 0, TimeSpan? timeout = null)
    {
        uint reqId = Send(type, payload, txId);
        var deadline = DateTime.UtcNow + (timeout ?? RawConnection.DefaultTimeout);
        while (true)
        {
            RawMessage? message = NextMessage(deadline);
            if (message is null)
            {
                throw new TimeoutException($"no reply to {type} from the daemon");
            }
            if (message.Type == XsMessageType.WatchEvent)
            {
                _events.Enqueue(message);
                continue;
            }
            if (message.ReqId != reqId)
            {
                throw new InvalidOperationException($"reply for req_id {message.ReqId}, expected {reqId}");
            }
            return message;
        }
    }

    public RawMessage Request(XsMessageType type, params string[] args) => Request(type, RawPayload.Strings(args));

    /// <summary>
    /// The next message of any kind (reply or event) the daemon wrote into the page, or null when none comes within
    /// <paramref name="timeout"/>. The page outlives the daemon: after a crash this still finds what it wrote.
    /// </summary>
    public RawMessage? TryReceive(TimeSpan timeout) => NextMessage(DateTime.UtcNow + timeout);

    /// <summary>The next watch event, or null after the timeout.</summary>
    public RawMessage? NextEvent(TimeSpan? timeout = null)
    {
        if (_events.Count > 0)
        {
            return _events.Dequeue();
        }
        var deadline = DateTime.UtcNow + (timeout ?? RawConnection.DefaultTimeout);
        while (true)
        {
            RawMessage? message = NextMessage(deadline);
            if (message is null || message.Type == XsMessageType.WatchEvent)
            {
                return message;
            }
            throw new InvalidOperationException("unexpected reply " + message.Type);
        }
    }

    private RawMessage? NextMessage(DateTime deadline)
    {
        while (true)
        {
            if (FrameParser.TryParse(_received.ToArray(), out XsHeader header, out int length) == FrameStatus.Complete)
            {
                byte[] payload = _received.GetRange(XsConstants.HeaderSize, length - XsConstants.HeaderSize).ToArray();
                _received.RemoveRange(0, length);
                return new RawMessage(header, payload, _sequence++);
            }
            if (!Pull())
            {
                if (DateTime.UtcNow > deadline)
                {
                    return null;
                }
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>Moves whatever the response ring holds into the local buffer; true when something came.</summary>
    private bool Pull()
    {
        uint consumer = Read(RingLayout.ResponseConsumer);
        uint producer = Read(RingLayout.ResponseProducer);
        Interlocked.MemoryBarrier();
        uint available = producer - consumer;
        if (available == 0 || available > RingLayout.RingSize)
        {
            return false;
        }
        for (uint i = 0; i < available; i++)
        {
            _received.Add(_page[RingLayout.Response + (int)((consumer + i) & (RingLayout.RingSize - 1))]);
        }
        Interlocked.MemoryBarrier();
        Write(RingLayout.ResponseConsumer, consumer + available);
        Notify();
        return true;
    }

    /// <summary>Asks for a ring reset (docs/misc/xenstore-ring.txt) and waits until the daemon completes it.</summary>
    public bool Reconnect(TimeSpan? timeout = null)
    {
        Write(RingLayout.Connection, 1);
        Notify();
        var deadline = DateTime.UtcNow + (timeout ?? RawConnection.DefaultTimeout);
        while (ConnectionField != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            Thread.Sleep(1);
        }
        _received.Clear();
        _events.Clear();
        return true;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
