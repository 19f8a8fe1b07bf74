namespace Xenstore.Server.Pipeline;

/// <summary>
/// Gives memory back after the store shrinks. When many domains are destroyed the nodes go, but the managed heap
/// keeps the space their peak needed, so a daemon that once held a boot storm stays at its peak size. Two moments
/// run one compacting collection that returns free memory to the system:
/// <list type="bullet">
/// <item>during a mass destroy, each time the store falls to 60% of its size at the last collection (or its peak
/// since), by at least <see cref="MinimumFall"/> nodes: a store falling from N nodes to none pays about log(N);</item>
/// <item>once the daemon has been quiet for <see cref="SettleDelay"/> after the store fell or grew by a quarter
/// since the last collection: the tail of a destroy, too small for the first rule, would otherwise keep what it
/// freed and what its requests allocated until the next storm; and a store that grew (a boot storm, a bulk load)
/// keeps, besides its nodes, what the collector committed for the garbage of the growth (at 100k nodes written
/// by one client, 29 MB of anonymous memory for 15 MB of live heap; 17.5 MB after this collection).</item>
/// </list>
/// Nothing is collected while the store grows or while requests keep coming, a store that never held
/// <see cref="MinimumPeak"/> nodes is left alone, and a steady host (a domain created or destroyed now and then on a
/// large store) never changes by a quarter: a store growing from N nodes pays about log(N) collections in all.
/// </summary>
internal sealed class HeapTrimmer(TimeProvider time, Action collect)
{
    /// <summary>Below this many nodes at the peak the heap is small enough to keep as it is.</summary>
    public const int MinimumPeak = 2000;

    /// <summary>A smaller fall frees too little to be worth a full collection during the destroy.</summary>
    public const int MinimumFall = 1000;

    /// <summary>How long the daemon must have been quiet before the tail of a fall is collected.</summary>
    public static readonly TimeSpan SettleDelay = TimeSpan.FromSeconds(1);

    private int _peak;
    private int _highest;
    private bool _settling;
    private long _lastBusy;

    // The store's size at the last collection (0 before the first).
    private int _collectedAt;

    /// <summary>The collection the daemon runs: every generation, compacted, free memory returned.</summary>
    public static void CollectAggressively() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>Collections run so far (for tests and the operator).</summary>
    public int Trims { get; private set; }

    /// <summary>After each batch (store thread): notes the store's size and whether the batch did any work.</summary>
    public void AfterBatch(int nodes, bool busy)
    {
        long now = time.GetTimestamp();
        if (busy)
        {
            _lastBusy = now;
        }
        if (nodes > _peak)
        {
            _peak = nodes;
            _highest = Math.Max(_highest, nodes);
            // Growth by a quarter since the last collection (and by enough nodes) is collected once quiet.
            _settling |= _highest >= MinimumPeak && nodes - _collectedAt >= Math.Max(MinimumFall, _collectedAt / 4);
        }
        if (_highest < MinimumPeak)
        {
            return;
        }
        if (_peak - nodes >= MinimumFall && nodes <= _peak / 10 * 6)
        {
            Trim(nodes);
            return;
        }
        _settling |= nodes <= _peak - _peak / 4;
        if (_settling && !busy && time.GetElapsedTime(_lastBusy, now) >= SettleDelay)
        {
            Trim(nodes);
        }
    }

    /// <summary>How long the store thread may wait before a quiet store's collection is due (-1: nothing due).</summary>
    public int WaitMilliseconds()
    {
        if (!_settling)
        {
            return -1;
        }
        TimeSpan left = SettleDelay - time.GetElapsedTime(_lastBusy);
        return (int)Math.Ceiling(Math.Max(left.TotalMilliseconds, 0));
    }

    private void Trim(int nodes)
    {
        _peak = nodes;
        _collectedAt = nodes;
        _settling = false;
        Trims++;
        collect();
    }
}
