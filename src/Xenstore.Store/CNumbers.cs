namespace Xenstore.Store;

/// <summary>
/// Numbers in request arguments as C xenstored 4.22 reads them: domids strictly (<see cref="TryParseDomid"/>), an
/// event channel port with <c>atoi</c>'s leniency (leading digits count, garbage is 0, trailing junk is ignored).
/// </summary>
internal static class CNumbers
{
    /// <summary>The largest domid a request may name (C 4.22's <c>parse_domid</c>).</summary>
    public const uint MaxDomid = 65535;

    /// <summary>
    /// A domid as C 4.22's <c>parse_domid</c> takes it (<c>strtoul</c> in base 10, then nothing may follow and the
    /// value may not exceed 65535): "abc", "7x", "-1" and "70000" are rejected; an empty argument is domain 0, as
    /// it is in C.
    /// </summary>
    public static bool TryParseDomid(ReadOnlySpan<byte> text, out uint domid)
    {
        domid = 0;
        int i = 0;
        while (i < text.Length && IsCSpace(text[i]))
        {
            i++;
        }
        bool negative = false;
        if (i < text.Length && text[i] is (byte)'-' or (byte)'+')
        {
            negative = text[i] == (byte)'-';
            i++;
        }
        int digits = i;
        ulong value = 0;
        while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9')
        {
            value = Math.Min((value * 10) + (ulong)(text[i] - '0'), MaxDomid + 1UL);
            i++;
        }
        if (i == digits)
        {
            // No digits: strtoul leaves its end pointer at the start, so only an empty argument is accepted.
            return text.IsEmpty;
        }
        if (i != text.Length || value > MaxDomid || (negative && value != 0))
        {
            // A negative value wraps to a huge unsigned long in C, which is out of range as well.
            return false;
        }
        domid = (uint)value;
        return true;
    }

    private static bool IsCSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    /// <summary><c>atoi</c> as C xenstored applies it to an event channel port.</summary>
    public static int Atoi(ReadOnlySpan<byte> text)
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
        return (int)Math.Clamp(negative ? -value : value, int.MinValue, int.MaxValue);
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
