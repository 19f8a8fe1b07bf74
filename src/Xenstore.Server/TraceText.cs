using System.Text;

namespace Xenstore.Server;

/// <summary>Payloads as one printable line for the access trace: NULs shown as <c>|</c>, long values cut.</summary>
internal static class TraceText
{
    private const int MaxLength = 120;

    public static string Summarize(ReadOnlySpan<byte> payload)
    {
        var text = new StringBuilder(Math.Min(payload.Length, MaxLength) + 4);
        foreach (byte b in payload[..Math.Min(payload.Length, MaxLength)])
        {
            text.Append(b == 0 ? '|' : b is >= 0x20 and < 0x7f ? (char)b : '.');
        }
        if (payload.Length > MaxLength)
        {
            text.Append("...");
        }
        return text.ToString();
    }
}
