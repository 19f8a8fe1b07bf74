namespace Xenstore.Store;

/// <summary>
/// C's <c>atoi</c>/<c>strtoul</c> as C xenstored applies them to domids: leading digits count, garbage is 0 and
/// trailing junk is ignored. Used only where compatibility asks for that leniency (GET_DOMAIN_PATH and friends).
/// </summary>
internal static class CNumbers
{
    public static uint AtoiAsDomid(ReadOnlySpan<byte> text)
    {
        int i = 0;
        while (i < text.Length && text[i] is (byte)' ' or (byte)'\t' or (byte)'\n')
        {
            i++;
        }
        bool negative = false;
        if (i < text.Length && text[i] is (byte)'-' or (byte)'+')
        {
            negative = text[i] == (byte)'-';
            i++;
        }
        long value = 0;
        while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9')
        {
            value = Math.Min((value * 10) + (text[i] - '0'), int.MaxValue + 1L);
            i++;
        }
        int asInt = (int)Math.Clamp(negative ? -value : value, int.MinValue, int.MaxValue);
        return unchecked((uint)asInt);
    }

    public static ulong Strtoul(ReadOnlySpan<byte> text, out bool valid)
    {
        ulong value = 0;
        valid = !text.IsEmpty;
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                valid = false;
                break;
            }
            value = unchecked((value * 10) + (ulong)(b - '0'));
        }
        return value;
    }
}
