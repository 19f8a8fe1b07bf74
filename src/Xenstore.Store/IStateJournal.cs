using Xenstore.Protocol;

namespace Xenstore.Store;

/// <summary>
/// Receives every change to the persistent state of the engine, in order, as absolute states (the node as it
/// now is, a removed subtree, a domain as it now is), so that replaying the records over any earlier state gives
/// the current one. Connections end with the process; the watches and open transactions of a domain's ring
/// connection are recorded under its domain, since the ring outlives the process and is served again after a
/// restart. Those of sockets end with the process.
/// </summary>
public interface IStateJournal
{
    /// <summary>A node (or a special <c>@</c> path's permissions) now has this value and these permissions.</summary>
    void NodeWritten(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> perms);

    /// <summary>A node and its whole subtree are gone.</summary>
    void NodeRemoved(string path);

    /// <summary>A domain record now looks like this.</summary>
    void DomainWritten(DomainRecord domain);

    /// <summary>A domain record is gone (released).</summary>
    void DomainRemoved(uint domid);

    /// <summary>A global quota now has this value.</summary>
    void GlobalQuotaWritten(Quota quota, long value);

    /// <summary>The ring connection of a domain has this watch.</summary>
    void RingWatchAdded(uint domid, WatchRecord watch);

    /// <summary>The ring connection of a domain no longer has the watch with this path and token.</summary>
    void RingWatchRemoved(uint domid, string path, string token);

    /// <summary>The ring connection of a domain has a transaction open with this id.</summary>
    void RingTransactionOpened(uint domid, uint transactionId);

    /// <summary>The transaction with this id of a domain's ring connection has ended.</summary>
    void RingTransactionEnded(uint domid, uint transactionId);

    /// <summary>The ring connection of a domain has no watches and no open transactions (closed, reset, released).</summary>
    void RingConnectionCleared(uint domid);
}
