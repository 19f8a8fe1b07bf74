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

    internal EnginePersistence(LiveTree live, DomainTable domains, WatchTable watches, JournalSink journal, INodeChangeSink quietFeed)
    {
        _live = live;
        _domains = domains;
        _watches = watches;
        _journal = journal;
        Restorer = new EngineRestorer(live, domains, watches, quietFeed);
    }

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
                .Select(DomainTable.ToRecord)]);
    }

    /// <summary>The snapshot is written: the live tree may change its nodes in place again.</summary>
    public void EndSnapshot(EngineSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _live.Release(snapshot.Epoch);
    }
}
