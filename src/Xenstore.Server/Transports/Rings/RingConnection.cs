using Xenstore.Protocol;
using Xenstore.Server.Hypervisor;
using Xenstore.Server.Pipeline;

namespace Xenstore.Server.Transports.Rings;

/// <summary>
/// A guest's shared ring, driven only by the store thread: requests are read from <c>req[]</c> and executed as long
/// as the domain is under its outstanding-request quota, its undelivered output under a bound and the pass's budget
/// lasts; output is written into <c>rsp[]</c> as space allows, and the guest is notified once per batch that moved
/// data. A guest that corrupts its indexes (error 2) or sends a packet over
/// 4096 bytes (error 3) is ignored from then on, until it reconnects or is released; nobody else is affected.
/// </summary>
internal sealed class RingConnection
{
    private const int ErrorRingIndex = 2;
    private const int ErrorProtocol = 3;

    private readonly GuestPage _page;
    private readonly byte[] _input = new byte[2 * (XsConstants.HeaderSize + XsConstants.PayloadMax)];
    private int _inputLength;
    private byte[] _output = new byte[4096];
    private int _outputOffset;
    private int _outputLength;

    public RingConnection(RingManager manager, uint domid, uint localPort, GuestPage page, int outstandingLimit, int outputLimit)
    {
        OutputLimit = outputLimit;
        Manager = manager;
        Domid = domid;
        LocalPort = localPort;
        _page = page;
        OutstandingLimit = outstandingLimit;
    }

    public RingManager Manager { get; }

    public uint Domid { get; }

    public uint LocalPort { get; }

    public int OutstandingLimit { get; }

    /// <summary>Undelivered output (bytes) beyond which the guest's requests are not read until it reads replies.</summary>
    public int OutputLimit { get; }

    /// <summary>Replies and events of this guest not yet copied into its ring: queued, and taken but not yet written.</summary>
    public int UndeliveredBytes => (Session?.Output.QueuedBytes ?? 0) + (_outputLength - _outputOffset);

    public RingSession? Session { get; set; }

    /// <summary>In the ready queue (a ring is queued once, however many notifications arrive).</summary>
    public bool Queued { get; set; }

    /// <summary>To be notified at the end of the batch.</summary>
    public bool NotifyWanted { get; set; }

    /// <summary>No longer served (released, re-introduced, failed): nothing touches its page any more.</summary>
    public bool Detached { get; set; }

    /// <summary>Its requests wait because its undelivered output is over the bound; resumes when the guest reads.</summary>
    public bool Throttled { get; private set; }

    /// <summary>
    /// The guest's write credit (XSA-206), or null when it is not limited (the limit is off, or the domain is
    /// privileged). Kept across the guest's reconnections: reconnecting earns nothing.
    /// </summary>
    public WriteCredit? WriteCredit { get; set; }

    /// <summary>Its requests wait because its write credit is spent; resumes as the credit refills.</summary>
    public bool WaitingForCredit { get; private set; }

    /// <summary>Set after a protocol violation: nothing more is read or written until a reconnection.</summary>
    public bool Ignored { get; private set; }

    public bool HasPendingOutput => !Ignored && (_outputLength > _outputOffset || (Session?.Output.PublishedBytes ?? 0) > 0);

    public GuestPage Page => _page;

    public void Advertise(XsServerFeatures features) => _page.Write(RingLayout.ServerFeatures, (uint)features);

    /// <summary>Live update: takes the bytes read but not parsed and the output not yet in the ring.</summary>
    public (byte[] Input, byte[] Output) TakeBuffers()
    {
        byte[] input = _input.AsSpan(0, _inputLength).ToArray();
        var output = new List<byte>(_output.AsSpan(_outputOffset, _outputLength - _outputOffset).ToArray());
        if (Session is not null)
        {
            byte[] queued = new byte[4096];
            int length = Session.Output.TakeAll(ref queued);
            output.AddRange(queued.AsSpan(0, length).ToArray());
        }
        _inputLength = 0;
        _outputOffset = _outputLength = 0;
        return (input, output.ToArray());
    }

    /// <summary>Live update: buffers carried over from the previous daemon go first.</summary>
    public void SeedBuffers(ReadOnlySpan<byte> input, ReadOnlySpan<byte> output)
    {
        input.CopyTo(_input.AsSpan(_inputLength));
        _inputLength += input.Length;
        Session?.Output.AppendRaw(output);
    }

    public bool ReconnectRequested => _page.Read(RingLayout.Connection) == 1;

    /// <summary>
    /// Reads requests and executes each as soon as it is whole, within the pass's budget. Returns whether anything
    /// was consumed from the ring, and whether requests are left that the budget did not cover.
    /// </summary>
    public (bool Consumed, bool More) ReadRequests(BatchPipeline pipeline, int maxRequests, int maxBytes)
    {
        Throttled = false;
        WaitingForCredit = false;
        if (Ignored || Session is null)
        {
            return (false, false);
        }
        bool consumed = false;
        int requests = 0;
        int bytes = 0;
        while (Session.Outstanding < OutstandingLimit || OutstandingLimit == 0)
        {
            // A guest that does not read its replies is not read either: its undelivered output stays bounded, and
            // everything it sent before is still answered, in order, once it reads.
            if (UndeliveredBytes > OutputLimit)
            {
                Throttled = true;
                return (consumed, false);
            }
            FrameStatus status = FrameParser.TryParse(_input.AsSpan(0, _inputLength), out XsHeader header, out int length);
            if (status == FrameStatus.TooLarge)
            {
                Fail(ErrorProtocol);
                return (consumed, false);
            }
            if (status == FrameStatus.Complete)
            {
                if (requests == maxRequests || bytes >= maxBytes)
                {
                    return (consumed, true);
                }
                if (WriteCredit is { } credit && !Manager.MayExecute(this, credit, header, _input.AsSpan(XsConstants.HeaderSize, length - XsConstants.HeaderSize)))
                {
                    WaitingForCredit = true;
                    return (consumed, false);
                }
                RingSession session = Session;
                session.RequestPosted();
                pipeline.Execute(session, header, _input.AsSpan(XsConstants.HeaderSize, length - XsConstants.HeaderSize), pipeline.Clock.Arrival());
                Buffer.BlockCopy(_input, length, _input, 0, _inputLength - length);
                _inputLength -= length;
                requests++;
                bytes += length;
                if (Detached || Session != session)
                {
                    // The request ended this session (a failure dropped it): nothing more is read for it.
                    return (consumed, false);
                }
                continue;
            }
            int read = ReadRing();
            if (read <= 0)
            {
                return (consumed, false);
            }
            consumed = true;
        }
        return (consumed, false);
    }

    /// <summary>Copies what the request ring holds (as much as fits); -1 after marking the ring bad.</summary>
    private int ReadRing()
    {
        uint consumer = _page.Read(RingLayout.RequestConsumer);
        uint producer = _page.Read(RingLayout.RequestProducer);
        Interlocked.MemoryBarrier();
        uint available = producer - consumer;
        if (available > RingLayout.RingSize)
        {
            Fail(ErrorRingIndex);
            return -1;
        }
        int count = (int)Math.Min(available, (uint)(_input.Length - _inputLength));
        if (count == 0)
        {
            return 0;
        }
        _page.CopyFromRing(RingLayout.Request, consumer, _input.AsSpan(_inputLength, count));
        _inputLength += count;
        Interlocked.MemoryBarrier();
        _page.Write(RingLayout.RequestConsumer, consumer + (uint)count);
        return count;
    }

    /// <summary>Writes queued output into the response ring; returns whether anything was written.</summary>
    public bool WriteResponses()
    {
        if (Ignored || Session is null)
        {
            return false;
        }
        bool wrote = false;
        while (true)
        {
            if (_outputOffset == _outputLength)
            {
                _outputOffset = 0;
                _outputLength = Session.Output.TakeAll(ref _output);
                if (_outputLength == 0)
                {
                    return wrote;
                }
            }
            uint consumer = _page.Read(RingLayout.ResponseConsumer);
            uint producer = _page.Read(RingLayout.ResponseProducer);
            Interlocked.MemoryBarrier();
            uint used = producer - consumer;
            if (used > RingLayout.RingSize)
            {
                Fail(ErrorRingIndex);
                return wrote;
            }
            int count = Math.Min(RingLayout.RingSize - (int)used, _outputLength - _outputOffset);
            if (count == 0)
            {
                return wrote;
            }
            _page.CopyToRing(RingLayout.Response, producer, _output.AsSpan(_outputOffset, count));
            Interlocked.MemoryBarrier();
            _page.Write(RingLayout.ResponseProducer, producer + (uint)count);
            _outputOffset += count;
            wrote = true;
        }
    }

    /// <summary>
    /// docs/misc/xenstore-ring.txt reconnection: drop partial packets and queued output, zero the indexes, clear the
    /// error, then mark the connection usable again. The caller starts a fresh session.
    /// </summary>
    public void Reset()
    {
        _inputLength = 0;
        _outputOffset = _outputLength = 0;
        _page.Write(RingLayout.RequestConsumer, 0);
        _page.Write(RingLayout.RequestProducer, 0);
        _page.Write(RingLayout.ResponseConsumer, 0);
        _page.Write(RingLayout.ResponseProducer, 0);
        _page.Write(RingLayout.Error, 0);
        Ignored = false;
        Interlocked.MemoryBarrier();
        _page.Write(RingLayout.Connection, 0);
    }

    private void Fail(int error)
    {
        Ignored = true;
        _page.Write(RingLayout.Error, (uint)error);
    }
}
