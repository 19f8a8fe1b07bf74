using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Conformance.Tests;

/// <summary>What a step of a random guest sequence does besides sending one request.</summary>
internal enum GuestStepKind
{
    /// <summary>One request from the actor (dom0 over the socket, or a guest over its ring).</summary>
    Request,

    /// <summary>Dom0 introduces a domain; its page is created (zeroed) first, as the hypervisor would.</summary>
    Introduce,

    /// <summary>Dom0 releases a domain; a guest released this way no longer acts.</summary>
    Release,
}

/// <summary>
/// One step of a random guest sequence. <see cref="Actor"/> 0 is dom0 on the socket, <c>i</c> ≥ 1 the i-th guest
/// of the sequence. <see cref="TransactionSlot"/> is -1 outside transactions, else which of the actor's open
/// transactions (oldest first, modulo how many are open) the request runs in; with none open it runs outside.
/// </summary>
internal sealed record GuestStep(int Actor, GuestStepKind Kind, XsMessageType Type, byte[] Payload, int TransactionSlot = -1)
{
    /// <summary>The domain an <see cref="GuestStepKind.Introduce"/> or <see cref="GuestStepKind.Release"/> names.</summary>
    public uint Domid => uint.Parse(PayloadStrings.Split(Payload)[0], CultureInfo.InvariantCulture);

    /// <summary>A commit (TRANSACTION_END "T").</summary>
    public bool IsCommit => Type == XsMessageType.TransactionEnd && Payload.AsSpan().SequenceEqual("T\0"u8);

    public static string ActorName(int actor) => actor == 0 ? "dom0" : "g" + actor.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The request as a transcript shows it, with the transaction it ran in: the actor's n-th transaction (tx#n),
    /// numbered by the run, since each daemon has its own transaction ids; 0 for none.
    /// </summary>
    public string Describe(int transactionOrdinal) => Describe(transactionOrdinal == 0 ? "" : $"[tx#{transactionOrdinal}]");

    /// <summary>The step as a sequence listing shows it: which of the actor's open transactions it runs in, if any.</summary>
    public override string ToString() => Describe(TransactionSlot < 0 ? "" : $"[open tx {TransactionSlot}]");

    private string Describe(string tx)
    {
        string payload = Type == XsMessageType.Write
            ? GuestText.Strings(Payload.AsSpan(0, Array.IndexOf(Payload, (byte)0) + 1)) + " = " + GuestText.Value(Payload.AsSpan(Array.IndexOf(Payload, (byte)0) + 1))
            : GuestText.Strings(Payload);
        return $"{ActorName(Actor)} {Type}{tx} {payload}";
    }

}

/// <summary>Splits payloads into their NUL-terminated strings (a trailing fragment is kept).</summary>
internal static class PayloadStrings
{
    public static List<string> Split(ReadOnlySpan<byte> payload)
    {
        var result = new List<string>();
        int start = 0;
        for (int i = 0; i < payload.Length; i++)
        {
            if (payload[i] == 0)
            {
                result.Add(Encoding.Latin1.GetString(payload[start..i]));
                start = i + 1;
            }
        }
        if (start < payload.Length)
        {
            result.Add(Encoding.Latin1.GetString(payload[start..]));
        }
        return result;
    }
}

/// <summary>Renders payload bytes for transcripts: short and printable, long values by length and hash.</summary>
internal static class GuestText
{
    private const int LongestShown = 48;

    public static string Strings(ReadOnlySpan<byte> payload)
    {
        var parts = PayloadStrings.Split(payload).Select(Shorten);
        string text = string.Join("|", parts);
        return payload.Length > 0 && payload[^1] != 0 ? text + " (no trailing NUL)" : text;
    }

    public static string Value(ReadOnlySpan<byte> value) => "'" + Shorten(Encoding.Latin1.GetString(value)) + "'";

    private static string Shorten(string text)
    {
        if (text.Length > LongestShown)
        {
            string hash = Convert.ToHexString(SHA256.HashData(Encoding.Latin1.GetBytes(text)))[..8];
            return $"<{text.Length} bytes {Escape(text[..12])}… #{hash}>";
        }
        return Escape(text);
    }

    private static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is < ' ' or > '~')
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
