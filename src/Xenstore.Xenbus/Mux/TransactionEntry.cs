namespace Xenstore.Xenbus.Mux;

/// <summary>
/// One of a client's transactions: the id the client sees (numbered per client, as the daemon numbers them per
/// connection) and the daemon's id on the upstream. A transaction of an earlier upstream session is stale: the daemon
/// forgot it, so it is answered locally.
/// </summary>
internal sealed class TransactionEntry(uint clientId, uint upstreamId, int session)
{
    public uint ClientId { get; } = clientId;

    public uint UpstreamId { get; } = upstreamId;

    public int Session { get; } = session;

    /// <summary>Its END is on the upstream.</summary>
    public bool Ending { get; set; }
}
