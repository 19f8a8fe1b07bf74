using System.Globalization;
using System.Text;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// The observable record of a scenario: every request sent and every message received, per connection, in the
/// order they happened on that connection. Two daemons behave the same exactly when their transcripts are equal.
/// </summary>
public sealed class Transcript
{
    private readonly List<string> _lines = [];
    private readonly Dictionary<string, string> _substitutions = [];

    /// <summary>Replaces run-specific text (the scenario's unique paths) by a stable placeholder.</summary>
    public void Substitute(string actual, string placeholder) => _substitutions[actual] = placeholder;

    public void Add(string line)
    {
        // Longest first, so "/t/x12" is not half-replaced by "/t/x1".
        foreach ((string actual, string placeholder) in _substitutions.OrderByDescending(s => s.Key.Length))
        {
            line = line.Replace(actual, placeholder, StringComparison.Ordinal);
        }
        _lines.Add(line);
    }

    public override string ToString() => string.Join('\n', _lines) + "\n";

    /// <summary>Bytes as a C-like string literal: <c>\0</c> for NUL, <c>\xNN</c> for anything unprintable.</summary>
    public static string Quote(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length + 2);
        sb.Append('"');
        foreach (byte b in bytes)
        {
            switch (b)
            {
                case 0: sb.Append("\\0"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                case < 0x20 or > 0x7e: sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}"); break;
                default: sb.Append((char)b); break;
            }
        }
        sb.Append('"');
        return sb.ToString();
    }

    /// <summary>
    /// A reply or event: <c>OK</c>, <c>ERROR ENOENT</c>, <c>EVENT "p\0t\0"</c>, or the quoted payload (prefixed by its
    /// type when that differs from the request's). Header fields that were not echoed are shown.
    /// </summary>
    public static string Render(RawMessage m, Xenstore.Protocol.XsMessageType requestType, uint reqId, uint txId)
    {
        string text = m.Type switch
        {
            Xenstore.Protocol.XsMessageType.WatchEvent => "EVENT " + Quote(m.Payload),
            Xenstore.Protocol.XsMessageType.Error => "ERROR " + m.ErrorName,
            _ when m.Type == requestType && m.IsOk => "OK",
            _ when m.Type == requestType => Quote(m.Payload),
            _ => $"{m.Type} {Quote(m.Payload)}",
        };
        if (m.Type == Xenstore.Protocol.XsMessageType.WatchEvent)
        {
            if (m.ReqId != 0 || m.TxId != 0)
            {
                text += $" (req_id {m.ReqId}, tx_id {m.TxId})";
            }
            return text;
        }
        if (m.ReqId != reqId)
        {
            text += $" (req_id {m.ReqId} for {reqId})";
        }
        if (m.TxId != txId)
        {
            text += $" (tx_id {m.TxId} for {txId})";
        }
        return text;
    }
}
