using Xenstore.Store.Domains;
using Xenstore.Store.Persistence;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store;

/// <summary>
/// Persistence hooks: the journal sees every change as it happens on the live tree; a snapshot writes the whole
/// state as the same records; recovery hands the records back to <see cref="Restorer"/>.
/// </summary>
public sealed class EnginePersistence
{
    private readonly LiveTree _live;
    private readonly DomainTable _domains;
    private readonly WatchTable _watches;
    private readonly JournalSink _journal;
    private readonly Dictionary<int, Connection> _connections;
    private readonly RecoveredRings _recoveredRings;

    internal EnginePersistence(LiveTree live, DomainTable domains, WatchTable watches, JournalSink journal,
        Dictionary<int, Connection> connections, RecoveredRings recoveredRings, INodeChangeSink quietFeed)
    {
        _live = live;
        _domains = domains;
        _watches = watches;
        _journal = journal;
        _connections = connections;
        _recoveredRings = recoveredRings;
        Restorer = new EngineRestorer(live, domains, watches, recoveredRings, quietFeed);
    }

    /// <summary>
    /// True (the default) after a crash: changes may have been missed while the daemon was down, so each recovered
    /// watch of a ring fires once when its connection takes it over (a watch event is a hint, and C fires one on
    /// registration too). A live update's successor turns it off: the state was written with the store quiet.
    /// </summary>
    public bool FireRecoveredWatches { get; set; } = true;

    /// <summary>The ring connections' watches and transactions recovered and not yet taken over, by domain.</summary>
    public IReadOnlyList<RingConnectionState> RecoveredRings => [.. _recoveredRings.All];

    /// <summary>Where changes are recorded; null to keep the state in memory only.</summary>
    public IStateJournal? Journal
    {
        get => _journal.Journal;
        set => _journal.Journal = value;
    }

    /// <summary>
    /// Recovery: apply the journal's records here (what a journal received, replayed in order), before any
    /// connection opens. No checks, no journal, no watch events.
    /// </summary>
    public IStateJournal Restorer { get; }

    /// <summary>
    /// Freezes the persistent state as it is now, for writing with <see cref="EngineSnapshot.WriteTo"/> on any
    /// thread while the engine goes on: the live tree copies what it changes from here on, as for a transaction.
    /// Call <see cref="EndSnapshot"/> when written, or the live tree keeps copying.
    /// </summary>
    public EngineSnapshot BeginSnapshot()
    {
        int epoch = _live.Freeze();
        return new EngineSnapshot(
            epoch,
            _live.Root,
            [.. QuotaNames.All.Select(quota => (quota, _domains.GlobalQuotas[quota]))],
            [.. _watches.SpecialPerms.Select(special => (special.Key, special.Value))],
            [.. _domains.All
                .Where(d => d.Introduced || d.Target is not null || d.QuotaOverrides.Count > 0 || d.FeaturesSet)
                .Select(DomainTable.ToRecord)],
            RingStates());
    }

    /// <summary>Copies of the ring connections' watches and transactions: live connections', then those recovered.</summary>
    private RingConnectionState[] RingStates()
    {
        var states = new List<RingConnectionState>();
        foreach (Connection connection in _connections.Values.Where(c => c.IsRing).OrderBy(c => c.Domid))
        {
            var state = new RingConnectionState(connection.Domid);
            state.Watches.AddRange(connection.Watches.Select(w => new WatchRecord(w.Path, w.Token, w.Relative, w.Depth)));
            state.OpenTransactions.UnionWith(connection.Transactions.Keys);
            state.OpenTransactions.UnionWith(connection.LostTransactions);
            if (!state.IsEmpty)
            {
                states.Add(state);
            }
        }
        foreach (RingConnectionState recovered in _recoveredRings.All)
        {
            var state = new RingConnectionState(recovered.Domid);
            state.Watches.AddRange(recovered.Watches);
            state.OpenTransactions.UnionWith(recovered.OpenTransactions);
            states.Add(state);
        }
        return [.. states];
    }

    /// <summary>The snapshot is written: the live tree may change its nodes in place again.</summary>
    public void EndSnapshot(EngineSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _live.Release(snapshot.Epoch);
    }
}
