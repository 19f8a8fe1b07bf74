namespace Xenstore.Protocol.Trace;

/// <summary>What a replay record says happened on a connection.</summary>
public enum ReplayEvent
{
    /// <summary>The connection opened (its kind and domain are given).</summary>
    Open,
    /// <summary>A request arrived.</summary>
    In,
    /// <summary>A reply or a watch event was queued for the connection.</summary>
    Out,
    /// <summary>The connection closed.</summary>
    Close,
}

/// <summary>
/// One line of a replayable trace (<c>xenstored -T FILE --trace-control=+replay</c>), read back by
/// <c>xenstore replay</c>. <see cref="Microseconds"/> counts from the daemon's first opening of the trace.
/// </summary>
/// <param name="Microseconds">When it happened, in microseconds from the trace's start.</param>
/// <param name="Connection">The daemon's number for the connection.</param>
/// <param name="Event">What happened.</param>
/// <param name="Ring">For <see cref="ReplayEvent.Open"/>: a domain's ring rather than a socket.</param>
/// <param name="Domid">For <see cref="ReplayEvent.Open"/>: the connection's domain.</param>
/// <param name="Header">For <see cref="ReplayEvent.In"/> and <see cref="ReplayEvent.Out"/>: the message header (its length is the payload's).</param>
/// <param name="Payload">For <see cref="ReplayEvent.In"/> and <see cref="ReplayEvent.Out"/>: the payload, exact.</param>
public sealed record ReplayRecord(long Microseconds, int Connection, ReplayEvent Event, bool Ring, uint Domid, XsHeader Header, byte[] Payload)
{
    /// <summary>A request or a reply of <paramref name="connection"/>.</summary>
    public static ReplayRecord Message(long microseconds, int connection, ReplayEvent direction, XsHeader header, byte[] payload) =>
        new(microseconds, connection, direction, false, 0, header, payload);
}
