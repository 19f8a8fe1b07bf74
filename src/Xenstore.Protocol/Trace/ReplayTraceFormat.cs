using System.Globalization;
using System.Text;

namespace Xenstore.Protocol.Trace;

/// <summary>
/// The text of replay records, lines beside C xenstored's own in a trace file, with a prefix of their own as C's
/// other switches have (<c>io:</c>, <c>obj:</c>, <c>wrl:</c>):
/// <code>
/// replay: 1520 3 open socket d0
/// replay: 1610 3 in WRITE 7 0 "/a\0v"
/// replay: 1650 3 out WRITE 7 0 "OK\0"
/// replay: 1700 3 close
/// </code>
/// Unlike C's <c>io:</c> lines they keep what a replay needs: microseconds, the request id, the transaction id,
/// and the payload escaped losslessly (<c>\0</c>, <c>\\</c>, <c>\"</c>, <c>\xNN</c> for any other byte outside
/// printable ASCII). A type is its C name (<c>GET_DOMAIN_PATH</c>), or its number when it has none.
/// </summary>
public static class ReplayTraceFormat
{
    /// <summary>The prefix of every replay record.</summary>
    public const string Prefix = "replay: ";

    private static readonly Dictionary<string, XsMessageType> s_types = Enum.GetValues<XsMessageType>()
        .ToDictionary(CName, t => t, StringComparer.Ordinal);

    /// <summary>One record as its line, without the newline.</summary>
    public static string Format(ReplayRecord record)
    {
        var line = new StringBuilder(Prefix.Length + 40 + record.Payload.Length);
        line.Append(Prefix).Append(record.Microseconds.ToString(CultureInfo.InvariantCulture)).Append(' ')
            .Append(record.Connection.ToString(CultureInfo.InvariantCulture)).Append(' ');
        switch (record.Event)
        {
            case ReplayEvent.Open:
                line.Append("open ").Append(record.Ring ? "ring" : "socket").Append(" d").Append(record.Domid.ToString(CultureInfo.InvariantCulture));
                break;
            case ReplayEvent.Close:
                line.Append("close");
                break;
            default:
                line.Append(record.Event == ReplayEvent.In ? "in " : "out ").Append(TypeName(record.Header.Type)).Append(' ')
                    .Append(record.Header.ReqId.ToString(CultureInfo.InvariantCulture)).Append(' ')
                    .Append(record.Header.TxId.ToString(CultureInfo.InvariantCulture)).Append(' ');
                Quote(line, record.Payload);
                break;
        }
        return line.ToString();
    }

    /// <summary>
    /// Reads a replay record. False with <paramref name="error"/> null for a line that is not one (C's lines);
    /// false with an error for a line that starts like one and is damaged.
    /// </summary>
    public static bool TryParse(string line, out ReplayRecord? record, out string? error)
    {
        record = null;
        error = null;
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        string[] fields = line[Prefix.Length..].Split(' ', 7);
        if (fields.Length < 3
            || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long microseconds)
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int connection))
        {
            error = "expected: replay: MICROSECONDS CONNECTION EVENT ...";
            return false;
        }
        switch (fields[2])
        {
            case "close" when fields.Length == 3:
                record = new ReplayRecord(microseconds, connection, ReplayEvent.Close, false, 0, default, []);
                return true;
            case "open" when fields.Length == 5 && fields[3] is "socket" or "ring" && fields[4].StartsWith('d')
                && uint.TryParse(fields[4].AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out uint domid):
                record = new ReplayRecord(microseconds, connection, ReplayEvent.Open, fields[3] == "ring", domid, default, []);
                return true;
            case "in" or "out" when fields.Length == 7:
                if (!TryParseType(fields[3], out XsMessageType type)
                    || !uint.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out uint reqId)
                    || !uint.TryParse(fields[5], NumberStyles.None, CultureInfo.InvariantCulture, out uint txId))
                {
                    error = $"bad type, request id or transaction id in '{fields[2]}' record";
                    return false;
                }
                byte[]? payload = Unquote(fields[6]);
                if (payload is null)
                {
                    error = "bad payload (expected a quoted, escaped string)";
                    return false;
                }
                record = ReplayRecord.Message(microseconds, connection, fields[2] == "in" ? ReplayEvent.In : ReplayEvent.Out,
                    new XsHeader(type, reqId, txId, (uint)payload.Length), payload);
                return true;
            default:
                error = $"unknown or incomplete event '{fields[2]}'";
                return false;
        }
    }

    /// <summary>C xenstored's name of a message type (<c>GetDomainPath</c> is <c>GET_DOMAIN_PATH</c>).</summary>
    public static string CName(XsMessageType type)
    {
        string name = type.ToString();
        var text = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsAsciiLetterUpper(name[i]))
            {
                text.Append('_');
            }
            text.Append(char.ToUpperInvariant(name[i]));
        }
        return text.ToString();
    }

    /// <summary>The C name of a known type, the number of any other (a request may carry any).</summary>
    public static string TypeName(XsMessageType type) =>
        Enum.IsDefined(type) ? CName(type) : ((uint)type).ToString(CultureInfo.InvariantCulture);

    private static bool TryParseType(string text, out XsMessageType type)
    {
        if (s_types.TryGetValue(text, out type))
        {
            return true;
        }
        bool numeric = uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint value);
        type = (XsMessageType)value;
        return numeric;
    }

    /// <summary>Bytes as a quoted string: <c>\0</c>, <c>\\</c>, <c>\"</c>, <c>\xNN</c> outside printable ASCII.</summary>
    public static void Quote(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        text.Append('"');
        foreach (byte b in bytes)
        {
            switch (b)
            {
                case 0: text.Append("\\0"); break;
                case (byte)'"': text.Append("\\\""); break;
                case (byte)'\\': text.Append("\\\\"); break;
                case < 0x20 or > 0x7e: text.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture)); break;
                default: text.Append((char)b); break;
            }
        }
        text.Append('"');
    }

    /// <summary>The bytes of a quoted string written by <see cref="Quote"/>; null when it is not one.</summary>
    public static byte[]? Unquote(string text)
    {
        if (text.Length < 2 || text[0] != '"' || text[^1] != '"')
        {
            return null;
        }
        var bytes = new List<byte>(text.Length);
        for (int i = 1; i < text.Length - 1; i++)
        {
            char c = text[i];
            if (c is < ' ' or > '~' or '"')
            {
                return null;
            }
            if (c != '\\')
            {
                bytes.Add((byte)c);
                continue;
            }
            if (++i >= text.Length - 1)
            {
                return null;
            }
            switch (text[i])
            {
                case '0': bytes.Add(0); break;
                case '\\': bytes.Add((byte)'\\'); break;
                case '"': bytes.Add((byte)'"'); break;
                case 'x' when i + 2 < text.Length - 1
                    && byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte value):
                    bytes.Add(value);
                    i += 2;
                    break;
                default:
                    return null;
            }
        }
        return [.. bytes];
    }
}
