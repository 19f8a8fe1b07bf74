using Xenstore.Store.Domains;

namespace Xenstore.Store;

/// <summary>
/// Persistence hooks: the journal sees every change as it happens on the live tree; a snapshot writes the whole
/// state as the same records; recovery applies records without checks, events or journalling.
/// </summary>
public sealed partial class XenstoreEngine
{
    /// <summary>Where changes are recorded; null to keep the state in memory only.</summary>
    public IStateJournal? Journal
    {
        get => _journal.Journal;
        set => _journal.Journal = value;
    }

    /// <summary>
    /// Freezes the persistent state as it is now, for writing with <see cref="EngineSnapshot.WriteTo"/> on any
    /// thread while the engine goes on: the live tree copies what it changes from here on, as for a transaction.
    /// Call <see cref="EndSnapshot"/> when written, or the live tree keeps copying.
    /// </summary>
    public EngineSnapshot BeginSnapshot()
    {
        int epoch = _liveTree.Freeze();
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
    public void EndSnapshot(EngineSnapshot snapshot) => _liveTree.Release(snapshot.Epoch);

    /// <summary>
    /// Recovery: apply the journal's records here (what a journal received, replayed in order), before any
    /// connection opens. No checks, no journal, no watch events.
    /// </summary>
    public IStateJournal Restorer { get; }

    /// <summary>Domains introduced, with what their rings need, so a restarted daemon can serve them again.</summary>
    public IReadOnlyList<DomainRecord> IntroducedDomains() =>
        _domains.All.Where(d => d.Introduced).Select(DomainTable.ToRecord).ToList();

    /// <summary>A connection's watches, in registration order, for a live update to carry over.</summary>
    public IReadOnlyList<WatchRecord> ExportWatches(int connectionId) =>
        _connections.TryGetValue(connectionId, out Connection? connection)
            ? connection.Watches.Select(w => new WatchRecord(w.Path, w.Token, w.Relative, w.Depth)).ToList()
            : [];

    /// <summary>Registers a carried-over watch again, without the initial event and without quota checks.</summary>
    public void RestoreWatch(int connectionId, WatchRecord record)
    {
        if (!_connections.TryGetValue(connectionId, out Connection? connection)
            || connection.FindWatch(record.Path, record.Token) is not null)
        {
            return;
        }
        _watches.Add(connection, record.Path, record.Token, record.Relative, record.Depth);
    }

    /// <summary>The connection of a guest domain (its ring session), if it has one.</summary>
    public int? ConnectionOf(uint domid) =>
        _connections.Values.FirstOrDefault(c => c.Domid == domid && !c.Privileged)?.Id;
}

/// <summary>A watch as a live update carries it: canonical path, token, relative flag, depth (-1 unlimited).</summary>
public sealed record WatchRecord(string Path, string Token, bool Relative, int Depth);
