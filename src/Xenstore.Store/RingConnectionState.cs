namespace Xenstore.Store;

/// <summary>
/// What a domain's ring connection had when the daemon stopped: its watches in registration order and the ids of
/// its open transactions. Recovered from the journal; taken over by the ring's connection when it is served again.
/// </summary>
public sealed class RingConnectionState(uint domid)
{
    public uint Domid { get; } = domid;

    public List<WatchRecord> Watches { get; } = [];

    public SortedSet<uint> OpenTransactions { get; } = [];

    /// <summary>Adds a watch unless one with the same path and token is there already (a record replayed twice).</summary>
    public void AddWatch(WatchRecord watch)
    {
        if (!Watches.Exists(w => w.Path == watch.Path && w.Token == watch.Token))
        {
            Watches.Add(watch);
        }
    }

    public void RemoveWatch(string path, string token) => Watches.RemoveAll(w => w.Path == path && w.Token == token);

    public bool IsEmpty => Watches.Count == 0 && OpenTransactions.Count == 0;
}
