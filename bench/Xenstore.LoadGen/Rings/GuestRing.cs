using System.IO.MemoryMappedFiles;
using Xenstore.Protocol;

namespace Xenstore.LoadGen.Rings;

/// <summary>
/// A guest's end of a simulated Xenstore ring, the layout every daemon here serves (ours with <c>--sim-dir</c>, the
/// C references with <c>REFXS_RINGS=1</c>): the page <c>DIR/ring.N</c>, notifications as the u32 <c>100+N</c>
/// written into the FIFO <c>DIR/evt</c> (kept open, so a notification is one write). Responses are found by
/// looking at the response index (the references never notify guests), so every daemon is measured alike.
/// </summary>
internal sealed unsafe class GuestRing : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _page;
    private readonly int _eventFd;
    private readonly byte[] _received = new byte[2 * (XsConstants.HeaderSize + XsConstants.PayloadMax)];
    private int _receivedLength;
    private int _taken;
    private uint _nextReqId = 1;

    public GuestRing(string directory, uint domid)
    {
        Domid = domid;
        string path = Path.Combine(directory, $"ring.{domid}");
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite))
        {
            stream.SetLength(RingLayout.PageSize);
        }
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, RingLayout.PageSize, MemoryMappedFileAccess.ReadWrite);
        _view = _file.CreateViewAccessor(0, RingLayout.PageSize, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _page = pointer + _view.PointerOffset;
        _eventFd = Libc.Open(Path.Combine(directory, "evt"), Libc.OWrOnly);
        if (_eventFd < 0)
        {
            throw new IOException($"cannot open {directory}/evt: {Libc.LastErrorText()}");
        }
    }

    public uint Domid { get; }

    /// <summary>The INTRODUCE payload for this guest (gfn and port are what the simulated hypervisors expect).</summary>
    public byte[] IntroducePayload => Ops.Bytes($"{Domid}\0{Domid}\0{100 + Domid}\0");

    public uint Read(int offset) => Volatile.Read(ref *(uint*)(_page + offset));

    public void Write(int offset, uint value) => Volatile.Write(ref *(uint*)(_page + offset), value);

    /// <summary>Free bytes in the request ring.</summary>
    public int RequestSpace => RingLayout.RingSize - (int)(Read(RingLayout.RequestProducer) - Read(RingLayout.RequestConsumer));

    public void Notify()
    {
        uint port = 100 + Domid;
        Libc.Write(_eventFd, (byte*)&port, 4);
    }

    /// <summary>
    /// Notifies for several guests in one write of the event FIFO (each port still arrives; a FIFO write of up to
    /// 4 KiB is atomic): one generator process plays many guests, and its own system calls must not be what
    /// limits a many-guest run.
    /// </summary>
    public static void NotifyAll(IReadOnlyList<GuestRing> guests)
    {
        if (guests.Count == 0)
        {
            return;
        }
        Span<uint> ports = stackalloc uint[Math.Min(guests.Count, 1024)];
        for (int i = 0; i < ports.Length; i++)
        {
            ports[i] = 100 + guests[i].Domid;
        }
        fixed (uint* p = ports)
        {
            Libc.Write(guests[0]._eventFd, (byte*)p, ports.Length * 4);
        }
    }

    /// <summary>Puts a whole request into the ring if it fits (no notification); returns its req_id or 0.</summary>
    public uint TrySend(XsMessageType type, ReadOnlySpan<byte> payload, uint txId = 0)
    {
        int length = XsConstants.HeaderSize + payload.Length;
        if (RequestSpace < length)
        {
            return 0;
        }
        uint reqId = _nextReqId++;
        Span<byte> frame = stackalloc byte[length];
        FrameParser.Write(frame, type, reqId, txId, payload);
        WriteRaw(frame);
        return reqId;
    }

    /// <summary>Writes bytes into the request ring; the caller made sure they fit.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        uint producer = Read(RingLayout.RequestProducer);
        int position = (int)(producer & (RingLayout.RingSize - 1));
        int first = Math.Min(bytes.Length, RingLayout.RingSize - position);
        bytes[..first].CopyTo(new Span<byte>(_page + RingLayout.Request + position, first));
        bytes[first..].CopyTo(new Span<byte>(_page + RingLayout.Request, bytes.Length - first));
        Interlocked.MemoryBarrier();
        Write(RingLayout.RequestProducer, producer + (uint)bytes.Length);
    }

    /// <summary>
    /// The next complete message the daemon wrote, if any: its header, and its payload in place (valid until the
    /// next call).
    /// </summary>
    public bool TryReceive(out XsHeader header, out ReadOnlySpan<byte> payload)
    {
        if (_taken > 0)
        {
            Buffer.BlockCopy(_received, _taken, _received, 0, _receivedLength - _taken);
            _receivedLength -= _taken;
            _taken = 0;
        }
        Pull();
        if (FrameParser.TryParse(_received.AsSpan(0, _receivedLength), out header, out int length) != FrameStatus.Complete)
        {
            payload = default;
            return false;
        }
        payload = _received.AsSpan(XsConstants.HeaderSize, length - XsConstants.HeaderSize);
        _taken = length;
        return true;
    }

    /// <summary>Spins until the next message arrives (or the deadline passes: a ProtocolException).</summary>
    public XsHeader Receive(out ReadOnlySpan<byte> payload, long deadline)
    {
        var spin = new SpinWait();
        XsHeader header;
        while (!TryReceive(out header, out payload))
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() > deadline)
            {
                throw new ProtocolException($"domain {Domid}: no reply over the ring");
            }
            // Spinning, as a guest polling its ring does; yields now and then so a daemon on the same core runs.
            spin.SpinOnce(sleep1Threshold: -1);
        }
        return header;
    }

    private void Pull()
    {
        uint consumer = Read(RingLayout.ResponseConsumer);
        uint producer = Read(RingLayout.ResponseProducer);
        Interlocked.MemoryBarrier();
        int available = (int)Math.Min(producer - consumer, (uint)(_received.Length - _receivedLength));
        if (available <= 0 || available > RingLayout.RingSize)
        {
            return;
        }
        int position = (int)(consumer & (RingLayout.RingSize - 1));
        int first = Math.Min(available, RingLayout.RingSize - position);
        new ReadOnlySpan<byte>(_page + RingLayout.Response + position, first).CopyTo(_received.AsSpan(_receivedLength));
        new ReadOnlySpan<byte>(_page + RingLayout.Response, available - first).CopyTo(_received.AsSpan(_receivedLength + first));
        _receivedLength += available;
        Interlocked.MemoryBarrier();
        Write(RingLayout.ResponseConsumer, consumer + (uint)available);
        if (available == RingLayout.RingSize)
        {
            // As Linux's xenbus does: a daemon may be waiting for room in a full ring.
            Notify();
        }
    }

    public void Dispose()
    {
        Libc.Close(_eventFd);
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
