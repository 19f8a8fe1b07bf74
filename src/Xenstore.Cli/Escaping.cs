using System.Text;

namespace Xenstore.Cli;

/// <summary>
/// The value quoting of xenstore-utils, byte for byte: printable ASCII except backslash as is; <c>\t \n \r \\</c>;
/// bytes below 010 as three octal digits; every other byte as <c>\xHH</c>. Double quotes are not escaped.
/// </summary>
internal static class Escaping
{
    public static string Sanitise(ReadOnlySpan<byte> value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (byte c in value)
        {
            if (c is >= (byte)' ' and <= (byte)'~' && c != (byte)'\\')
            {
                builder.Append((char)c);
                continue;
            }
            builder.Append('\\');
            switch (c)
            {
                case (byte)'\t': builder.Append('t'); break;
                case (byte)'\n': builder.Append('n'); break;
                case (byte)'\r': builder.Append('r'); break;
                case (byte)'\\': builder.Append('\\'); break;
                default:
                    if (c < 8)
                    {
                        builder.Append('0').Append('0').Append((char)('0' + c));
                    }
                    else
                    {
                        builder.Append('x').Append(c.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    break;
            }
        }
        return builder.ToString();
    }

    /// <summary>
    /// Reverses <see cref="Sanitise"/> the way the C tool does, quirks included: <c>\x</c> takes up to two hex
    /// digits as <c>sscanf("%2x")</c> would (and stays a plain <c>x</c> without any), an octal digit starts up to
    /// three octal digits, an unknown escape drops the backslash, and a trailing backslash becomes a NUL byte.
    /// </summary>
    public static byte[] Unsanitise(ReadOnlySpan<byte> input)
    {
        var output = new List<byte>(input.Length);
        int i = 0;
        while (i < input.Length)
        {
            uint c = input[i++];
            if (c == '\\')
            {
                c = i < input.Length ? input[i++] : 0u;
                switch (c)
                {
                    case 't': c = '\t'; break;
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case '\\': c = '\\'; break;
                    case 'x':
                        if (TryScanHex(input, ref i, out uint hex))
                        {
                            c = hex;
                        }
                        break;
                    case >= '0' and <= '7':
                        i--;
                        c = ScanOctal(input, ref i);
                        break;
                    case 0:
                        // "\" at the very end: the C loop stores the NUL it reads and stops.
                        break;
                    default:
                        break;
                }
            }
            output.Add((byte)c);
        }
        return [.. output];
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary><c>sscanf(ip, "%2x%n")</c>: skips white space, an optional sign, then at most two characters.</summary>
    private static bool TryScanHex(ReadOnlySpan<byte> input, ref int i, out uint value)
    {
        value = 0;
        int p = i;
        while (p < input.Length && IsSpace(input[p]))
        {
            p++;
        }
        int width = 2;
        bool negative = false;
        if (p < input.Length && input[p] is (byte)'+' or (byte)'-')
        {
            negative = input[p] == (byte)'-';
            p++;
            width--;
        }
        int digits = 0;
        while (width > 0 && p < input.Length && HexDigit(input[p]) >= 0)
        {
            value = (value * 16) + (uint)HexDigit(input[p]);
            p++;
            width--;
            digits++;
        }
        if (digits == 0)
        {
            return false;
        }
        if (negative)
        {
            value = unchecked((uint)-(int)value);
        }
        i = p;
        return true;
    }

    private static uint ScanOctal(ReadOnlySpan<byte> input, ref int i)
    {
        uint value = 0;
        for (int n = 0; n < 3 && i < input.Length && input[i] is >= (byte)'0' and <= (byte)'7'; n++)
        {
            value = (value * 8) + (uint)(input[i] - '0');
            i++;
        }
        return value;
    }
}
