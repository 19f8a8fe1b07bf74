using Xenstore.Protocol;

namespace Xenstore.Store.Requests;

/// <summary>
/// What one request produces besides its changes: the reply payload, the messages that go out after the reply
/// (the initial event of a new watch follows its OK), and whether the host took the request over. One instance is
/// reset and reused for every request, and handed to each handler, so a handler's outputs are in its signature.
/// </summary>
internal sealed class RequestContext
{
    public ReplyBuffer Reply { get; } = new();

    /// <summary>Watch events to send once the reply is out, in order.</summary>
    public List<(int ConnectionId, byte[] Payload)> AfterReply { get; } = [];

    /// <summary>The host will answer the request itself (a live update is answered by the new daemon).</summary>
    public bool Deferred { get; set; }

    public void Reset()
    {
        Reply.Clear();
        AfterReply.Clear();
        Deferred = false;
    }

    /// <summary>Replies <c>OK</c>.</summary>
    public XsError Ok()
    {
        Reply.Append(XsConstants.Ok);
        return XsError.None;
    }
}
