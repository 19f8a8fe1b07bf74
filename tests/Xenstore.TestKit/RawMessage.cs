using System.Text;
using Xenstore.Protocol;

namespace Xenstore.TestKit;

/// <summary>
/// One message received from a daemon, exactly as it came off the wire. <see cref="Sequence"/> is its position
/// among every message the connection received, so tests can check that watch events came before a reply.
/// </summary>
public sealed record RawMessage(XsHeader Header, byte[] Payload, long Sequence)
{
    public XsMessageType Type => Header.Type;

    public uint ReqId => Header.ReqId;

    public uint TxId => Header.TxId;

    public bool IsError => Type == XsMessageType.Error;

    /// <summary>The errno name of an ERROR reply (without its NUL), or null for any other message.</summary>
    public string? ErrorName => IsError ? Text : null;

    /// <summary>The payload as Latin-1 text with one trailing NUL removed (how replies such as READ are compared).</summary>
    public string Text
    {
        get
        {
            ReadOnlySpan<byte> bytes = Payload;
            if (!bytes.IsEmpty && bytes[^1] == 0)
            {
                bytes = bytes[..^1];
            }
            return Encoding.Latin1.GetString(bytes);
        }
    }

    /// <summary>
    /// The NUL-terminated strings of the payload (DIRECTORY, GET_PERMS, WATCH_EVENT); a trailing fragment without
    /// NUL is kept as a last element so malformed replies stay visible.
    /// </summary>
    public IReadOnlyList<string> Strings
    {
        get
        {
            var result = new List<string>();
            int start = 0;
            for (int i = 0; i < Payload.Length; i++)
            {
                if (Payload[i] == 0)
                {
                    result.Add(Encoding.Latin1.GetString(Payload, start, i - start));
                    start = i + 1;
                }
            }
            if (start < Payload.Length)
            {
                result.Add(Encoding.Latin1.GetString(Payload, start, Payload.Length - start));
            }
            return result;
        }
    }

    /// <summary>True for the <c>OK\0</c> acknowledgement.</summary>
    public bool IsOk => !IsError && Payload.AsSpan().SequenceEqual(XsConstants.Ok);

    /// <summary>A compact, stable rendering for assertion messages and differential comparison.</summary>
    public string Describe() => IsError
        ? $"ERROR {ErrorName}"
        : $"{Type} [{string.Join("|", Strings.Select(Escape))}]{(Payload.Length > 0 && Payload[^1] == 0 ? "" : " (no trailing NUL)")}";

    /// <summary>Throws unless the message is a reply of type <paramref name="expected"/>; returns it for chaining.</summary>
    public RawMessage Expect(XsMessageType expected)
    {
        if (Type != expected)
        {
            throw new InvalidOperationException($"expected {expected}, got {Describe()}");
        }
        return this;
    }

    /// <summary>The transaction id carried in a TRANSACTION_START reply.</summary>
    public uint TransactionId => uint.Parse(Expect(XsMessageType.TransactionStart).Text, System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() => Describe();

    private static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (c is < ' ' or > '~')
            {
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
