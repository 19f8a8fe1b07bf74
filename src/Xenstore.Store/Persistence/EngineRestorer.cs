using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Persistence;

/// <summary>
/// Recovery: the journal's records applied to the engine's state, the mirror image of what the journal received.
/// No checks, no journal, no watch events: changes go through a feed that keeps only the tree's bookkeeping and
/// the accounting. The watches and transactions of ring connections are kept by domain until the rings are served
/// again (there are no connections yet).
/// </summary>
internal sealed class EngineRestorer(LiveTree live, DomainTable domains, WatchTable watches, RecoveredRings rings, INodeChangeSink quietFeed) : IStateJournal
{
    /// <summary>A node gets this value and these permissions (created with missing parents if needed).</summary>
    public void NodeWritten(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> perms)
    {
        if (perms.IsEmpty)
        {
            return;
        }
        if (path.StartsWith('@'))
        {
            watches.TrySetSpecialPerms(path, perms.ToArray());
            return;
        }
        Node? existing = live.Nodes.Get(path);
        if (existing is null)
        {
            TreeEdits.CreatePath(live.Nodes, live.Names, path, value.ToArray(), perms[0].Domid, creatorPrivileged: true, quietFeed);
            existing = live.Nodes.Get(path)!;
        }
        else
        {
            live.Nodes.GetMutable(path).SetValue(value.ToArray());
        }
        if (!existing.Perms.AsSpan().SequenceEqual(perms))
        {
            TreeEdits.SetPerms(live.Nodes, path, perms.ToArray(), quietFeed);
        }
    }

    /// <summary>A subtree is gone.</summary>
    public void NodeRemoved(string path)
    {
        if (path != "/" && live.Nodes.Get(path) is not null)
        {
            TreeEdits.Remove(live.Nodes, path, quietFeed);
        }
    }

    public void DomainWritten(DomainRecord record)
    {
        Domain domain = domains.GetOrAdd(record.Domid);
        domain.Introduced = record.Introduced;
        domain.Gfn = record.Gfn;
        domain.EventChannel = record.EventChannel;
        domain.Shutdown = record.Shutdown;
        domain.Target = record.Target;
        domain.Features = record.Features;
        domain.FeaturesSet = record.Features != domains.ServerFeatures;
        domain.QuotaOverrides.Clear();
        foreach ((Quota quota, long value) in record.QuotaOverrides)
        {
            domain.QuotaOverrides[quota] = value;
        }
    }

    /// <summary>A domain was released: its record keeps only the usage still charged to it, if any.</summary>
    public void DomainRemoved(uint domid)
    {
        if (domains.Find(domid) is { } domain)
        {
            domain.Introduced = false;
            domain.Target = null;
            domain.QuotaOverrides.Clear();
            domain.Shutdown = false;
            domain.Features = domains.ServerFeatures;
            domain.FeaturesSet = false;
            domains.DropIfEmpty(domain);
        }
        // A released domain has no connection left.
        rings.Remove(domid);
    }

    public void GlobalQuotaWritten(Quota quota, long value) => domains.GlobalQuotas[quota] = value;

    public void RingWatchAdded(uint domid, WatchRecord watch) => rings.GetOrAdd(domid).AddWatch(watch);

    public void RingWatchRemoved(uint domid, string path, string token) =>
        rings.Update(domid, state => state.RemoveWatch(path, token));

    public void RingTransactionOpened(uint domid, uint transactionId) => rings.GetOrAdd(domid).OpenTransactions.Add(transactionId);

    public void RingTransactionEnded(uint domid, uint transactionId) =>
        rings.Update(domid, state => state.OpenTransactions.Remove(transactionId));

    public void RingConnectionCleared(uint domid) => rings.Remove(domid);
}
