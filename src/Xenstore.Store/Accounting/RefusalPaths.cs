using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Store.Accounting;

/// <summary>The path a refused request named, as the log reports it. Only computed for refusals.</summary>
internal static class RefusalPaths
{
    private const int MaxLength = 256;

    public static string Of(uint domid, XsMessageType type, ReadOnlySpan<byte> payload)
    {
        if (type is not (XsMessageType.Read or XsMessageType.Write or XsMessageType.Mkdir or XsMessageType.Rm
            or XsMessageType.Directory or XsMessageType.DirectoryPart or XsMessageType.GetPerms
            or XsMessageType.SetPerms or XsMessageType.Watch or XsMessageType.Unwatch))
        {
            return "";
        }
        int end = payload.IndexOf((byte)0);
        ReadOnlySpan<byte> raw = end < 0 ? payload : payload[..end];
        XsPathKind kind = XsPath.Classify(raw);
        string path = kind == XsPathKind.Invalid ? Encoding.Latin1.GetString(raw) : XsPath.Canonicalize(raw, kind, domid);
        return path.Length > MaxLength ? path[..MaxLength] : path;
    }
}
