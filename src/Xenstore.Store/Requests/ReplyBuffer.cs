using System.Globalization;
using System.Text;

namespace Xenstore.Store.Requests;

/// <summary>
/// Builds one reply payload. It may grow past 4096 bytes so that the caller can tell the reply is too large and
/// answer E2BIG instead (a reply over the limit is never sent).
/// </summary>
internal sealed class ReplyBuffer
{
    private byte[] _buffer = new byte[Protocol.XsConstants.PayloadMax * 2];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public void Clear() => Length = 0;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(Length));
        Length += bytes.Length;
    }

    public void AppendByte(byte b)
    {
        Ensure(1);
        _buffer[Length++] = b;
    }

    public void AppendAscii(string text)
    {
        Ensure(text.Length);
        Length += Encoding.ASCII.GetBytes(text, _buffer.AsSpan(Length));
    }

    public void AppendNumber(long value)
    {
        Ensure(24);
        value.TryFormat(_buffer.AsSpan(Length), out int written, default, CultureInfo.InvariantCulture);
        Length += written;
    }

    private void Ensure(int more)
    {
        if (Length + more > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + more));
        }
    }
}
