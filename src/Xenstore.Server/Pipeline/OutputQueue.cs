using Xenstore.Protocol;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// Messages waiting to be written to one connection. The store thread appends whole messages (header and payload
/// together, so each reaches the wire in one piece) and, once the batch that produced them is in the journal,
/// publishes them; a transport's writer can take published bytes only. That is what makes "journal before reply"
/// hold for every transport by construction: an in-memory reader may take output at any moment from any thread,
/// and still never sees a reply whose change could be lost in a crash.
/// Watch events are bounded: past the limit, new events are dropped and counted rather than letting one slow
/// reader grow the daemon's memory without end; and an event identical to one still queued is not queued again
/// (<see cref="Append"/>). Its buffers are pinned: a socket's writer hands them to the kernel.
/// </summary>
/// <param name="eventLimit">Most watch events queued (0: no limit).</param>
/// <param name="storeThreadOnly">
/// True when only the store thread ever uses the queue, which then takes no lock. A socket's queue is such: the
/// engine appends, the batch publishes, the socket's flush takes, and the backlog and accounting checks read, all on
/// the store thread; the one exception, the output a live update carries over, is appended before the connection is
/// posted to the store thread (<see cref="Transports.Sockets.SocketConnection.StartAdopted"/>), and the work queue's
/// hand-off orders that write before anything the store thread does. In-memory connections are read from other
/// threads, so their queues lock.
/// </param>
internal sealed class OutputQueue(int eventLimit, bool storeThreadOnly = false)
{
    private const int InitialSize = 4096;

    /// <summary>
    /// Most queued events an incoming event is compared with. Each comparison costs one per queued event, so it
    /// stops being made once a reader has fallen this far behind: the cost per event stays bounded, and
    /// <see cref="EventLimit"/> bounds what such a reader can be owed.
    /// </summary>
    private const int IdenticalEventScanLimit = 256;
    private const int ShrinkAbove = 64 * 1024;

    private readonly Lock? _lock = storeThreadOnly ? null : new();
    private byte[] _buffer = PinnedBuffer.Allocate(InitialSize);
    private int _length;
    private int _published;
    // Where each queued watch event starts in the buffer, in order (so also how many are queued): the identical-event
    // check visits the events only, not the replies a pipelining client may have queued in front of them.
    private readonly List<int> _eventOffsets = [];

    /// <summary>Bytes published and not yet taken by the writer: what a transport may send now.</summary>
    public int PublishedBytes
    {
        get
        {
            using (Enter())
            {
                return _published;
            }
        }
    }

    /// <summary>Every byte queued and not yet taken, published or not (what counts against a backlog limit).</summary>
    public int QueuedBytes
    {
        get
        {
            using (Enter())
            {
                return _length;
            }
        }
    }

    /// <summary>The bytes the queue's buffer holds on to, used or not (what the memory report counts).</summary>
    public int Capacity
    {
        get
        {
            using (Enter())
            {
                return _buffer.Length;
            }
        }
    }

    /// <summary>Whether some output waits for the next <see cref="Publish"/>.</summary>
    public bool HasUnpublished
    {
        get
        {
            using (Enter())
            {
                return _length > _published;
            }
        }
    }

    public int EventLimit { get; set; } = eventLimit;

    /// <summary>
    /// Appends one message, not yet published. A watch event identical to one still in the queue (same path, same
    /// token: the reader has not been sent the first yet, and reads the node after it anyway) is not appended, as C
    /// xenstored does since XSA-326, while the queue holds at most <see cref="IdenticalEventScanLimit"/> events;
    /// events of the special <c>@</c> paths always are, each being news of its own.
    /// A watch event past <see cref="EventLimit"/> is dropped.
    /// </summary>
    public AppendOutcome Append(XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        using (Enter())
        {
            if (type == XsMessageType.WatchEvent)
            {
                int queuedEvents = _eventOffsets.Count;
                if (queuedEvents is > 0 and <= IdenticalEventScanLimit && payload is not [(byte)'@', ..] && HoldsEvent(payload))
                {
                    return AppendOutcome.AlreadyQueued;
                }
                if (EventLimit > 0 && queuedEvents >= EventLimit)
                {
                    return AppendOutcome.Dropped;
                }
                _eventOffsets.Add(_length);
            }
            int needed = _length + XsConstants.HeaderSize + payload.Length;
            if (needed > _buffer.Length)
            {
                PinnedBuffer.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
            }
            _length += FrameParser.Write(_buffer.AsSpan(_length), type, reqId, txId, payload);
            return AppendOutcome.Queued;
        }
    }

    /// <summary>Whether a watch event with this payload is among the queued events.</summary>
    private bool HoldsEvent(ReadOnlySpan<byte> payload)
    {
        foreach (int offset in _eventOffsets)
        {
            ReadOnlySpan<byte> frame = _buffer.AsSpan(offset);
            int length = (int)XsHeader.Read(frame).Length;
            if (length == payload.Length && frame.Slice(XsConstants.HeaderSize, length).SequenceEqual(payload))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Queues bytes that are already framed and already safe to send (output carried over by a live update, written
    /// to the journal by the previous daemon). They are published at once unless unpublished output is ahead of
    /// them, in which case they wait for it (order is kept).
    /// </summary>
    public void AppendRaw(ReadOnlySpan<byte> framed)
    {
        using (Enter())
        {
            bool publish = _published == _length;
            if (_length + framed.Length > _buffer.Length)
            {
                PinnedBuffer.Resize(ref _buffer, Math.Max(_length + framed.Length, _buffer.Length * 2));
            }
            framed.CopyTo(_buffer.AsSpan(_length));
            _length += framed.Length;
            if (publish)
            {
                _published = _length;
            }
        }
    }

    /// <summary>Makes everything appended so far takeable. Store thread, after the batch's journal write.</summary>
    public void Publish()
    {
        using (Enter())
        {
            _published = _length;
        }
    }

    /// <summary>
    /// Moves every published byte into <paramref name="spare"/> (swapping buffers, so the published part is never
    /// copied; the unpublished tail, if any, is copied to the front of the other buffer) and returns the number of
    /// bytes now in it.
    /// </summary>
    public int TakeAll(ref byte[] spare)
    {
        using (Enter())
        {
            int taken = _published;
            int rest = _length - _published;
            if (rest > spare.Length)
            {
                PinnedBuffer.Resize(ref spare, Math.Max(rest, spare.Length * 2));
            }
            _buffer.AsSpan(taken, rest).CopyTo(spare);
            (spare, _buffer) = (_buffer, spare);
            _length = rest;
            _published = 0;
            ForgetEventsBefore(taken);
            // A burst grew the buffers; once drained they go back to the usual size, so memory that peaked for one
            // slow reader does not stay held. The two buffers alternate, so both shrink within two takes.
            if (rest == 0 && _buffer.Length > ShrinkAbove)
            {
                _buffer = PinnedBuffer.Allocate(InitialSize);
            }
            return taken;
        }
    }

    /// <summary>The events in the first <paramref name="taken"/> bytes are gone; the rest moved to the front.</summary>
    private void ForgetEventsBefore(int taken)
    {
        int gone = 0;
        while (gone < _eventOffsets.Count && _eventOffsets[gone] < taken)
        {
            gone++;
        }
        _eventOffsets.RemoveRange(0, gone);
        for (int i = 0; i < _eventOffsets.Count; i++)
        {
            _eventOffsets[i] -= taken;
        }
    }

    private Guard Enter()
    {
        _lock?.Enter();
        return new Guard(_lock);
    }

    /// <summary>Leaves the lock, if the queue has one, at the end of a <c>using</c> block.</summary>
    private readonly struct Guard(Lock? held) : IDisposable
    {
        public void Dispose() => held?.Exit();
    }
}
