namespace Xenstore.Protocol;

/// <summary>Conversions between <see cref="XsError"/> and the NUL-terminated names on the wire.</summary>
public static class XsErrors
{
    private static readonly string[] s_names =
    [
        "EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC", "EIO",
        "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM",
    ];

    private static readonly byte[][] s_wireNames = s_names.Select(n => System.Text.Encoding.ASCII.GetBytes(n + "\0")).ToArray();

    /// <summary>The errno name, e.g. <c>ENOENT</c>.</summary>
    public static string Name(XsError error) =>
        error is >= XsError.EINVAL and <= XsError.EPERM ? s_names[(int)error] : "EINVAL";

    /// <summary>The payload of an ERROR reply: the name followed by one NUL.</summary>
    public static ReadOnlySpan<byte> WireName(XsError error) =>
        error is >= XsError.EINVAL and <= XsError.EPERM ? s_wireNames[(int)error] : s_wireNames[0];

    /// <summary>
    /// Parses an ERROR payload. Unknown names map to <see cref="XsError.EINVAL"/>, as libxenstore and the Linux
    /// driver do (oxenstored sends a non-standard <c>EQUOTA</c>).
    /// </summary>
    public static XsError Parse(ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        ReadOnlySpan<byte> name = nul >= 0 ? payload[..nul] : payload;
        for (int i = 0; i < s_names.Length; i++)
        {
            if (name.SequenceEqual(s_wireNames[i].AsSpan(0, s_wireNames[i].Length - 1)))
            {
                return (XsError)i;
            }
        }
        return XsError.EINVAL;
    }
}
