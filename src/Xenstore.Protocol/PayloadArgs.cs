namespace Xenstore.Protocol;

/// <summary>
/// Splits a request payload into NUL-terminated arguments with the exact rules of C xenstored: a single-argument
/// request must be exactly <c>arg\0</c>; multi-argument requests are a list of NUL-terminated strings.
/// </summary>
public static class PayloadArgs
{
    /// <summary>
    /// The single argument of a one-argument request (READ, MKDIR, RM, ...): the payload must end with its only NUL.
    /// </summary>
    public static bool TryGetSingle(ReadOnlySpan<byte> payload, out ReadOnlySpan<byte> arg)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul < 0 || nul != payload.Length - 1)
        {
            arg = default;
            return false;
        }
        arg = payload[..nul];
        return true;
    }

    /// <summary>
    /// Counts NUL-terminated strings, as C's <c>get_strings</c> does: bytes after the last NUL do not count.
    /// </summary>
    public static int Count(ReadOnlySpan<byte> payload) => payload.Count((byte)0);

    /// <summary>
    /// Splits <paramref name="payload"/> into its NUL-terminated strings; returns false when there are not exactly
    /// <paramref name="expected"/> of them or bytes follow the last NUL.
    /// </summary>
    public static bool TrySplitExact(ReadOnlySpan<byte> payload, Span<Range> ranges, int expected)
    {
        if (payload.Length == 0 || payload[^1] != 0 || Count(payload) != expected)
        {
            return false;
        }
        int start = 0;
        for (int i = 0; i < expected; i++)
        {
            int nul = payload[start..].IndexOf((byte)0) + start;
            ranges[i] = start..nul;
            start = nul + 1;
        }
        return true;
    }

    /// <summary>Parses an unsigned decimal number (no sign, no spaces, at least one digit, fits in 32 bits).</summary>
    public static bool TryParseUInt32(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 10)
        {
            return false;
        }
        ulong acc = 0;
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
            acc = (acc * 10) + (uint)(b - '0');
        }
        if (acc > uint.MaxValue)
        {
            return false;
        }
        value = (uint)acc;
        return true;
    }
}
