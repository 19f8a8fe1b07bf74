using System.Text;

namespace Xenstore.TestKit;

/// <summary>Builds request payloads byte for byte, so tests can also build the malformed ones.</summary>
public static class RawPayload
{
    /// <summary>Each string followed by one NUL: <c>a\0b\0</c>.</summary>
    public static byte[] Strings(params string[] parts)
    {
        var bytes = new List<byte>();
        foreach (string part in parts)
        {
            bytes.AddRange(Encoding.Latin1.GetBytes(part));
            bytes.Add(0);
        }
        return bytes.ToArray();
    }

    /// <summary>WRITE's payload: <c>path\0</c> then the value's bytes, with no terminator.</summary>
    public static byte[] Write(string path, ReadOnlySpan<byte> value)
    {
        byte[] head = Strings(path);
        var result = new byte[head.Length + value.Length];
        head.CopyTo(result, 0);
        value.CopyTo(result.AsSpan(head.Length));
        return result;
    }

    /// <summary>The bytes of <paramref name="text"/> with no terminator (Latin-1, so every char is one byte).</summary>
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);
}
