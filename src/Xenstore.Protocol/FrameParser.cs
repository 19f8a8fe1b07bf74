namespace Xenstore.Protocol;

/// <summary>
/// Splits a byte stream into messages. Stateless: the caller keeps unconsumed bytes and calls again with more,
/// which makes it resumable across any split of header or payload (sockets and rings deliver arbitrary chunks).
/// </summary>
public static class FrameParser
{
    /// <summary>
    /// Looks for one message at the start of <paramref name="buffer"/>. On <see cref="FrameStatus.Complete"/>,
    /// <paramref name="frameLength"/> is the number of bytes the message occupies (16 + payload).
    /// </summary>
    public static FrameStatus TryParse(ReadOnlySpan<byte> buffer, out XsHeader header, out int frameLength)
    {
        frameLength = 0;
        if (buffer.Length < XsConstants.HeaderSize)
        {
            header = default;
            return FrameStatus.NeedMoreData;
        }
        header = XsHeader.Read(buffer);
        // Unsigned comparison: a "negative" length (XSA-420) is simply too large.
        if (header.Length > XsConstants.PayloadMax)
        {
            return FrameStatus.TooLarge;
        }
        int total = XsConstants.HeaderSize + (int)header.Length;
        if (buffer.Length < total)
        {
            return FrameStatus.NeedMoreData;
        }
        frameLength = total;
        return FrameStatus.Complete;
    }

    /// <summary>Writes a whole message (header, then payload) and returns its length.</summary>
    public static int Write(Span<byte> destination, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        new XsHeader(type, reqId, txId, (uint)payload.Length).Write(destination);
        payload.CopyTo(destination[XsConstants.HeaderSize..]);
        return XsConstants.HeaderSize + payload.Length;
    }
}
