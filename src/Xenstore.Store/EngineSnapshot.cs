using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store;

/// <summary>
/// The persistent state frozen at one moment (<see cref="EnginePersistence.BeginSnapshot"/>). Nothing in it changes
/// afterwards, so <see cref="WriteTo"/> may run on another thread while the engine serves requests.
/// </summary>
public sealed class EngineSnapshot
{
    private readonly Node _root;
    private readonly (Quota Quota, long Value)[] _quotas;
    private readonly (string Path, XsPermission[] Perms)[] _specialPerms;
    private readonly DomainRecord[] _domains;
    private readonly RingConnectionState[] _rings;

    internal EngineSnapshot(int epoch, Node root, (Quota, long)[] quotas, (string, XsPermission[])[] specialPerms, DomainRecord[] domains,
        RingConnectionState[] rings)
    {
        _rings = rings;
        Epoch = epoch;
        _root = root;
        _quotas = quotas;
        _specialPerms = specialPerms;
        _domains = domains;
    }

    internal int Epoch { get; }

    /// <summary>
    /// Global quotas, special paths, nodes (parents first, children in list order), domains, then the watches (in
    /// registration order) and open transactions of ring connections.
    /// </summary>
    public void WriteTo(IStateJournal sink)
    {
        foreach ((Quota quota, long value) in _quotas)
        {
            sink.GlobalQuotaWritten(quota, value);
        }
        foreach ((string special, XsPermission[] perms) in _specialPerms)
        {
            sink.NodeWritten(special, [], perms);
        }
        // Parents before children, children in list order: restoring recreates DIRECTORY order.
        foreach ((string path, Node node) in NodeWalk.PreOrder("/", _root))
        {
            sink.NodeWritten(path, node.Value, node.Perms);
        }
        foreach (DomainRecord domain in _domains)
        {
            sink.DomainWritten(domain);
        }
        foreach (RingConnectionState ring in _rings)
        {
            foreach (WatchRecord watch in ring.Watches)
            {
                sink.RingWatchAdded(ring.Domid, watch);
            }
            foreach (uint transactionId in ring.OpenTransactions)
            {
                sink.RingTransactionOpened(ring.Domid, transactionId);
            }
        }
    }
}
