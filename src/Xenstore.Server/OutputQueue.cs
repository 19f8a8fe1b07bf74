using Xenstore.Protocol;

namespace Xenstore.Server;

/// <summary>
/// Messages waiting to be written to one connection. The store thread appends whole messages (header and payload
/// together, so each reaches the wire in one piece); the connection's writer takes everything queued at once.
/// Watch events are bounded: past the limit, new events are dropped and counted rather than letting one slow
/// reader grow the daemon's memory without end. Its buffers are pinned: a socket's writer hands them to the kernel.
/// </summary>
internal sealed class OutputQueue(int eventLimit)
{
    private readonly Lock _lock = new();
    private byte[] _buffer = PinnedBuffer.Allocate(4096);
    private int _length;
    private int _queuedEvents;

    /// <summary>Watch events dropped because the reader fell too far behind.</summary>
    public long DroppedEvents { get; private set; }

    /// <summary>Bytes queued and not yet taken by the writer.</summary>
    public int PendingBytes
    {
        get
        {
            lock (_lock)
            {
                return _length;
            }
        }
    }

    public int EventLimit { get; set; } = eventLimit;

    /// <summary>Appends one message; returns false when a watch event was dropped.</summary>
    public bool Append(XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        lock (_lock)
        {
            if (type == XsMessageType.WatchEvent)
            {
                if (EventLimit > 0 && _queuedEvents >= EventLimit)
                {
                    DroppedEvents++;
                    return false;
                }
                _queuedEvents++;
            }
            int needed = _length + XsConstants.HeaderSize + payload.Length;
            if (needed > _buffer.Length)
            {
                PinnedBuffer.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
            }
            _length += FrameParser.Write(_buffer.AsSpan(_length), type, reqId, txId, payload);
            return true;
        }
    }

    /// <summary>Queues bytes that are already framed (output carried over by a live update).</summary>
    public void AppendRaw(ReadOnlySpan<byte> framed)
    {
        lock (_lock)
        {
            if (_length + framed.Length > _buffer.Length)
            {
                PinnedBuffer.Resize(ref _buffer, Math.Max(_length + framed.Length, _buffer.Length * 2));
            }
            framed.CopyTo(_buffer.AsSpan(_length));
            _length += framed.Length;
        }
    }

    /// <summary>
    /// Moves everything queued into <paramref name="spare"/> (swapping buffers, so neither side copies twice) and
    /// returns the number of bytes now in it.
    /// </summary>
    public int TakeAll(ref byte[] spare)
    {
        lock (_lock)
        {
            (spare, _buffer) = (_buffer, spare);
            int taken = _length;
            _length = 0;
            _queuedEvents = 0;
            return taken;
        }
    }
}
