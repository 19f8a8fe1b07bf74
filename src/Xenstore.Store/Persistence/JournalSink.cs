using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Persistence;

/// <summary>
/// Writes the persistent state's changes to the journal as they happen on the live tree: nodes from the change
/// feed, and domains, global quotas and special paths from the requests that change them; and the watches and
/// transactions of ring connections (those of other connections end with the process and are not written).
/// </summary>
internal sealed class JournalSink : INodeChangeSink
{
    /// <summary>Where changes are recorded; null to keep the state in memory only.</summary>
    public IStateJournal? Journal { get; set; }

    public void OnChange(in NodeChange change)
    {
        if (Journal is null || change.IsRemovedDescendant)
        {
            // A removed descendant is covered by the record of its subtree's removal.
            return;
        }
        if (change.Kind == ChangeKind.Removed)
        {
            Journal.NodeRemoved(change.Path);
        }
        else
        {
            Journal.NodeWritten(change.Path, change.Node.Value, change.Node.Perms);
        }
    }

    /// <summary>A domain's record changed: written as it now is, or removed when the table dropped it.</summary>
    public void DomainChanged(DomainTable domains, Domain domain)
    {
        if (Journal is null)
        {
            return;
        }
        if (domain.IsEmpty || !domains.Contains(domain.Domid))
        {
            Journal.DomainRemoved(domain.Domid);
            return;
        }
        Journal.DomainWritten(DomainTable.ToRecord(domain));
    }

    public void DomainRemoved(uint domid) => Journal?.DomainRemoved(domid);

    public void GlobalQuotaChanged(Quota quota, long value) => Journal?.GlobalQuotaWritten(quota, value);

    public void SpecialPermsChanged(string path, XsPermission[] perms) => Journal?.NodeWritten(path, [], perms);

    public void WatchAdded(Watch watch)
    {
        if (Journal is not null && watch.Owner.IsRing)
        {
            Journal.RingWatchAdded(watch.Owner.Domid, new WatchRecord(watch.Path, watch.Token, watch.Relative, watch.Depth));
        }
    }

    public void WatchRemoved(Watch watch)
    {
        if (Journal is not null && watch.Owner.IsRing)
        {
            Journal.RingWatchRemoved(watch.Owner.Domid, watch.Path, watch.Token);
        }
    }

    public void TransactionOpened(Connection connection, uint transactionId)
    {
        if (Journal is not null && connection.IsRing)
        {
            Journal.RingTransactionOpened(connection.Domid, transactionId);
        }
    }

    public void TransactionEnded(Connection connection, uint transactionId)
    {
        if (Journal is not null && connection.IsRing)
        {
            Journal.RingTransactionEnded(connection.Domid, transactionId);
        }
    }

    /// <summary>A ring connection lost every watch and transaction (closed, RESET_WATCHES, its domain released).</summary>
    public void RingCleared(Connection connection)
    {
        if (connection.IsRing)
        {
            RingCleared(connection.Domid);
        }
    }

    /// <summary>Whatever was recorded for the domain's ring connection is void.</summary>
    public void RingCleared(uint domid) => Journal?.RingConnectionCleared(domid);
}
