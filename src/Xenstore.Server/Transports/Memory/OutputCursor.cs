using Xenstore.Server.Pipeline;

namespace Xenstore.Server.Transports.Memory;

/// <summary>
/// The reader's side of an in-memory connection: output taken from the queue (published bytes only) and the
/// part of it not yet handed to the reader.
/// </summary>
internal sealed class OutputCursor
{
    private readonly Lock _lock = new();
    private byte[] _taken = new byte[4096];
    private int _offset;
    private int _length;

    /// <summary>Copies what is left of the last take, or takes again; returns the bytes copied (0: nothing published).</summary>
    public int CopyTo(Span<byte> into, OutputQueue output)
    {
        lock (_lock)
        {
            if (_offset == _length)
            {
                _offset = 0;
                _length = output.TakeAll(ref _taken);
            }
            int count = Math.Min(into.Length, _length - _offset);
            _taken.AsSpan(_offset, count).CopyTo(into);
            _offset += count;
            return count;
        }
    }
}
