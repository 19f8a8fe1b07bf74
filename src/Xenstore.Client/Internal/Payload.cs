using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// Builds request payloads and checks them before they leave: a payload over 4096 bytes gets the whole connection
/// closed by the daemon, so it must never be sent.
/// </summary>
internal static class Payload
{
    /// <summary>Checks a path's syntax and length, as the daemons do, without sending it.</summary>
    public static void ValidatePath(string path, bool allowSpecial, string operation)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path);
        XsPathKind kind = XsPath.Classify(bytes);
        bool valid = kind switch
        {
            XsPathKind.Absolute => bytes.Length <= XsConstants.AbsolutePathMax,
            XsPathKind.Relative => bytes.Length <= XsConstants.RelativePathMax,
            XsPathKind.Special => allowSpecial && bytes.Length <= XsConstants.AbsolutePathMax,
            _ => false,
        };
        if (!valid)
        {
            throw new XenstoreErrorException(XsError.EINVAL, $"{operation} {path}: invalid path") { IsLocal = true };
        }
    }

    /// <summary>Joins the strings, each followed by a NUL.</summary>
    public static byte[] Strings(string operation, params ReadOnlySpan<string> parts)
    {
        int length = 0;
        foreach (string part in parts)
        {
            length += Encoding.UTF8.GetByteCount(part) + 1;
        }
        byte[] payload = new byte[length];
        int offset = 0;
        foreach (string part in parts)
        {
            offset += Encoding.UTF8.GetBytes(part, payload.AsSpan(offset));
            payload[offset++] = 0;
        }
        CheckSize(payload.Length, operation, parts.Length > 0 ? parts[0] : null);
        return payload;
    }

    /// <summary>The WRITE payload: path, NUL, then the value bytes with no terminator.</summary>
    public static byte[] PathAndValue(string path, ReadOnlySpan<byte> value)
    {
        int pathLength = Encoding.UTF8.GetByteCount(path);
        CheckSize(pathLength + 1 + value.Length, "write", path);
        byte[] payload = new byte[pathLength + 1 + value.Length];
        Encoding.UTF8.GetBytes(path, payload);
        value.CopyTo(payload.AsSpan(pathLength + 1));
        return payload;
    }

    public static void CheckSize(int length, string operation, string? path)
    {
        if (length > XsConstants.PayloadMax)
        {
            throw new XenstoreErrorException(XsError.E2BIG,
                $"{operation} {path}: payload of {length} bytes exceeds {XsConstants.PayloadMax}") { IsLocal = true };
        }
    }

    /// <summary>Splits a reply made of NUL-terminated strings (DIRECTORY, GET_PERMS).</summary>
    public static string[] SplitStrings(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return [];
        }
        if (payload[^1] == 0)
        {
            payload = payload[..^1];
        }
        var result = new List<string>();
        foreach (Range range in payload.Split((byte)0))
        {
            result.Add(Encoding.UTF8.GetString(payload[range]));
        }
        return [.. result];
    }

    /// <summary>A reply that is one string, with or without its NUL.</summary>
    public static string SingleString(ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? payload[..nul] : payload);
    }
}
