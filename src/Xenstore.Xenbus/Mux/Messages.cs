using Xenstore.Protocol;

namespace Xenstore.Xenbus.Mux;

/// <summary>Builds whole messages and takes request and event payloads apart where xenbusd rewrites them.</summary>
internal static class Messages
{
    public static byte[] Build(XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        var message = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(message, type, reqId, txId, payload);
        return message;
    }

    /// <summary>An ERROR reply echoing the request's ids, as the daemon sends it.</summary>
    public static byte[] Error(XsHeader request, XsError error) =>
        Build(XsMessageType.Error, request.ReqId, request.TxId, XsErrors.WireName(error));

    public static byte[] Ok(XsHeader request) => Build(request.Type, request.ReqId, request.TxId, XsConstants.Ok);

    /// <summary>
    /// The first two NUL-terminated strings of a WATCH, UNWATCH or WATCH_EVENT payload (path and token) and what
    /// follows them (a WATCH's depth); false when there are not two.
    /// </summary>
    public static bool TrySplitPathToken(ReadOnlySpan<byte> payload, out byte[] path, out byte[] token, out byte[] tail)
    {
        path = token = tail = [];
        int first = payload.IndexOf((byte)0);
        if (first < 0)
        {
            return false;
        }
        int second = payload[(first + 1)..].IndexOf((byte)0);
        if (second < 0)
        {
            return false;
        }
        path = payload[..first].ToArray();
        token = payload.Slice(first + 1, second).ToArray();
        tail = payload[(first + 2 + second)..].ToArray();
        return true;
    }

    /// <summary><c>path\0token\0tail</c>.</summary>
    public static byte[] JoinPathToken(ReadOnlySpan<byte> path, ReadOnlySpan<byte> token, ReadOnlySpan<byte> tail)
    {
        var payload = new byte[path.Length + token.Length + tail.Length + 2];
        path.CopyTo(payload);
        token.CopyTo(payload.AsSpan(path.Length + 1));
        tail.CopyTo(payload.AsSpan(path.Length + token.Length + 2));
        return payload;
    }

    /// <summary>A decimal number followed by NUL (a TRANSACTION_START reply).</summary>
    public static byte[] Number(uint value) =>
        System.Text.Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\0");

    public static bool TryParseNumber(ReadOnlySpan<byte> payload, out uint value)
    {
        value = 0;
        return PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> text) && PayloadArgs.TryParseUInt32(text, out value);
    }
}
