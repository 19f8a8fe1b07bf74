using System.Text;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>Checks of one reply against what its request must get.</summary>
internal static class Replies
{
    /// <summary>When set (null-server runs), payloads are not compared; header checks still apply.</summary>
    public static bool PayloadChecksOff { get; set; }

    public static ReadOnlySpan<byte> Ok => "OK\0"u8;

    /// <summary>The reply must have the request's type and req_id (never ERROR) and, if given, exactly this payload.</summary>
    public static void Expect(XsConnection connection, in Frame frame, XsMessageType type, uint reqId, ReadOnlySpan<byte> payload, bool checkPayload = true)
    {
        ExpectHeader(connection, frame, type, reqId);
        if (checkPayload && !PayloadChecksOff && !connection.Payload(frame).SequenceEqual(payload))
        {
            throw new ProtocolException($"{type} req {reqId}: payload '{Show(connection.Payload(frame))}', expected '{Show(payload)}'");
        }
    }

    public static void ExpectHeader(XsConnection connection, in Frame frame, XsMessageType type, uint reqId)
    {
        XsHeader h = frame.Header;
        if (h.ReqId != reqId)
        {
            throw new ProtocolException($"{type}: reply for req_id {h.ReqId} ({h.Type}), expected {reqId}");
        }
        if (h.Type != type)
        {
            string detail = h.Type == XsMessageType.Error ? Show(connection.Payload(frame)) : h.Type.ToString();
            throw new ProtocolException($"{type} req {reqId}: got {detail}");
        }
    }

    /// <summary>The error name when the reply is an ERROR for this request, else null (the header must match).</summary>
    public static string? ErrorOrNull(XsConnection connection, in Frame frame, XsMessageType type, uint reqId)
    {
        if (frame.Header.Type == XsMessageType.Error && frame.Header.ReqId == reqId)
        {
            return XsErrors.Name(XsErrors.Parse(connection.Payload(frame)));
        }
        ExpectHeader(connection, frame, type, reqId);
        return null;
    }

    public static string Show(ReadOnlySpan<byte> bytes)
    {
        string text = Encoding.ASCII.GetString(bytes.Length > 120 ? bytes[..120] : bytes);
        return text.Replace("\0", "\\0", StringComparison.Ordinal);
    }
}
