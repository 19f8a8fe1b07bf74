using System.Text;
using Xenstore.Protocol;

namespace Xenstore.TestKit.Engine;

/// <summary>One message the engine sent, in the order it was sent.</summary>
public sealed record RecordedMessage(int ConnectionId, XsMessageType Type, uint ReqId, uint TxId, byte[] Payload)
{
    public bool IsEvent => Type == XsMessageType.WatchEvent;

    /// <summary>The payload as text, NULs kept (Latin-1 maps bytes to chars one to one).</summary>
    public string Text => Encoding.Latin1.GetString(Payload);

    public override string ToString() => $"conn {ConnectionId} {Type} req {ReqId} tx {TxId}: {Text.Replace("\0", "|", StringComparison.Ordinal)}";
}
