using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// The bytes read from one stream and the whole messages in them, for a reader that polls its descriptor: the
/// blocking client's connection, and xenbusd's client sockets and upstream. The reader reads into
/// <see cref="FreeSpace"/> and takes messages out one by one; what is left of a message waits for the next read.
/// </summary>
internal sealed class FrameReader
{
    /// <summary>Room for a few whole messages, so one read takes many small ones.</summary>
    public const int Capacity = 4 * (XsConstants.HeaderSize + XsConstants.PayloadMax);

    private readonly byte[] _buffer = new byte[Capacity];
    private int _start;
    private int _end;

    /// <summary>Where the next read goes (empty when the buffer holds messages nobody has taken yet).</summary>
    public Span<byte> FreeSpace
    {
        get
        {
            if (_start > 0 && _end == _buffer.Length)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            return _buffer.AsSpan(_end);
        }
    }

    public void Advance(int count) => _end += count;

    /// <summary>
    /// The next whole message, its payload copied out; <see cref="FrameStatus.NeedMoreData"/> when there is none yet,
    /// <see cref="FrameStatus.TooLarge"/> when the next header announces more than a payload may hold.
    /// </summary>
    public FrameStatus TryTake(out XsHeader header, out byte[] payload)
    {
        payload = [];
        FrameStatus status = FrameParser.TryParse(_buffer.AsSpan(_start, _end - _start), out header, out int length);
        if (status != FrameStatus.Complete)
        {
            return status;
        }
        payload = _buffer.AsSpan(_start + XsConstants.HeaderSize, (int)header.Length).ToArray();
        _start += length;
        if (_start == _end)
        {
            _start = _end = 0;
        }
        return status;
    }
}
