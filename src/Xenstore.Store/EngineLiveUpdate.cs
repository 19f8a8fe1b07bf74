using Xenstore.Store.Persistence;
using Xenstore.Store.Watches;

namespace Xenstore.Store;

/// <summary>What a live update carries from the old daemon's engine to the new one's: connections and their watches.</summary>
public sealed class EngineLiveUpdate
{
    private readonly Dictionary<int, Connection> _connections;
    private readonly WatchTable _watches;
    private readonly JournalSink _journal;

    internal EngineLiveUpdate(Dictionary<int, Connection> connections, WatchTable watches, JournalSink journal)
    {
        _connections = connections;
        _watches = watches;
        _journal = journal;
    }

    /// <summary>A connection's watches, in registration order.</summary>
    public IReadOnlyList<WatchRecord> ExportWatches(int connectionId) =>
        _connections.TryGetValue(connectionId, out Connection? connection)
            ? connection.Watches.Select(w => new WatchRecord(w.Path, w.Token, w.Relative, w.Depth)).ToList()
            : [];

    /// <summary>Registers a carried-over watch again, without the initial event and without quota checks.</summary>
    public void RestoreWatch(int connectionId, WatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_connections.TryGetValue(connectionId, out Connection? connection)
            && connection.FindWatch(record.Path, record.Token) is null)
        {
            _journal.WatchAdded(_watches.Add(connection, record.Path, record.Token, record.Relative, record.Depth));
        }
    }

    /// <summary>The connection of a guest domain (its ring session), if it has one.</summary>
    public int? ConnectionOf(uint domid) =>
        _connections.Values.FirstOrDefault(c => c.Domid == domid && !c.Privileged)?.Id;
}
