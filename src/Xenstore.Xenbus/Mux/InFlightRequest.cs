using Xenstore.Protocol;

namespace Xenstore.Xenbus.Mux;

/// <summary>Why xenbusd itself sends a request (no client waits for its reply).</summary>
internal enum InternalPurpose
{
    /// <summary>A client's request.</summary>
    None,

    /// <summary>The session check: a watch of xenbusd's own, which the daemon answers EEXIST while it remembers it.</summary>
    Probe,

    /// <summary>
    /// xenbusd's second watch, registered once per session and checked only when the probe was accepted: the probe
    /// alone can race with a daemon that is re-registering handed-over watches (a live update).
    /// </summary>
    Anchor,

    /// <summary>Ending a transaction or removing a watch of a client that closed or reset.</summary>
    Cleanup,

    /// <summary>Registering a client's watch again in a new session.</summary>
    Reregister,
}

/// <summary>A request on its way upstream (queued to be sent, or sent and awaiting its reply).</summary>
internal sealed class InFlightRequest
{
    /// <summary>The client that asked; null for xenbusd's own requests.</summary>
    public required ClientState? Client { get; init; }

    /// <summary>The client's header (its req_id and tx_id go back in the reply).</summary>
    public required XsHeader Original { get; init; }

    public required XsMessageType Type { get; init; }

    /// <summary>The daemon's transaction id (0 outside a transaction).</summary>
    public required uint UpstreamTx { get; init; }

    /// <summary>The payload as it goes upstream (tokens rewritten).</summary>
    public required byte[] Payload { get; init; }

    public InternalPurpose Purpose { get; init; }

    public ReplySlot? Slot { get; init; }

    /// <summary>TRANSACTION_END: the transaction ending.</summary>
    public TransactionEntry? Transaction { get; init; }

    /// <summary>WATCH: the entry to add once the daemon accepts it; UNWATCH: what to remove.</summary>
    public WatchEntry? Watch { get; init; }

    /// <summary>An anchor check: the probe's sequence (what was sent before it is lost if the check confirms).</summary>
    public long ProbeSequence { get; init; }

    public uint WireId { get; set; }

    /// <summary>Order of sending, across sessions.</summary>
    public long Sequence { get; set; }

    public long SentAt { get; set; }

    /// <summary>The session it was sent in.</summary>
    public int Session { get; set; }

    /// <summary>It holds a place under the transaction limit (a START) or the watch limit (a WATCH) in its session.</summary>
    public bool Counted { get; set; }

    public byte[] Frame() => Messages.Build(Type, WireId, UpstreamTx, Payload);

    /// <summary>Safe to send again in a new session: it changed nothing, or it sets up what the new session lacks.</summary>
    public bool Replayable => Purpose == InternalPurpose.None && UpstreamTx == 0 && Type is XsMessageType.Read
        or XsMessageType.Directory or XsMessageType.DirectoryPart or XsMessageType.GetPerms or XsMessageType.GetDomainPath
        or XsMessageType.IsDomainIntroduced or XsMessageType.GetFeature or XsMessageType.GetQuota or XsMessageType.Watch
        or XsMessageType.Unwatch or XsMessageType.TransactionStart;
}
