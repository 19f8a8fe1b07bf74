using Xenstore.Protocol;
using Xenstore.Xenbus.Clients;

namespace Xenstore.Xenbus.Mux;

/// <summary>What the multiplexer's loop reacts to; everything that touches its state arrives as one of these.</summary>
internal abstract record MuxEvent
{
    public sealed record ClientOpened(ClientSession Session) : MuxEvent;

    public sealed record ClientRequest(ClientSession Session, XsHeader Header, byte[] Payload) : MuxEvent;

    public sealed record ClientClosed(ClientSession Session) : MuxEvent;

    /// <summary>Upstream link <paramref name="Link"/> is open: a new session with the daemon starts.</summary>
    public sealed record UpstreamUp(int Link) : MuxEvent;

    public sealed record UpstreamMessage(int Link, XsHeader Header, byte[] Payload) : MuxEvent;

    public sealed record UpstreamDown(int Link, string Reason) : MuxEvent;

    /// <summary>Time passed: deadlines (admission, silence, absence) and the session probe.</summary>
    public sealed record Tick : MuxEvent;
}
