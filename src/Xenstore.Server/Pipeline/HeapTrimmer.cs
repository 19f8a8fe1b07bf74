namespace Xenstore.Server.Pipeline;

/// <summary>
/// Gives memory back after the store shrinks. When many domains are destroyed the nodes go, but the managed heap
/// keeps the space their peak needed, so a daemon that once held a boot storm stays at its peak size. After a
/// batch that leaves the store well below its peak (a mass destroy), one compacting collection that returns free
/// memory to the system is run. Growth never triggers it and a steady host never sees it: only a fall to 60% of the
/// peak since the last one, by at least <see cref="MinimumFall"/> nodes, on a store that once held
/// <see cref="MinimumPeak"/>, does; a store falling from N nodes to none pays about log(N) of them.
/// </summary>
internal sealed class HeapTrimmer
{
    /// <summary>Below this many nodes at the peak the heap is small enough to keep as it is.</summary>
    public const int MinimumPeak = 2000;

    /// <summary>A smaller fall frees too little to be worth a full collection.</summary>
    public const int MinimumFall = 1000;

    private int _peak;
    private int _highest;

    /// <summary>Collections run so far (for tests and the operator).</summary>
    public int Trims { get; private set; }

    /// <summary>After each batch (store thread): notes the store's size and trims when it has fallen far enough.</summary>
    public void AfterBatch(int nodes)
    {
        if (nodes > _peak)
        {
            _peak = nodes;
            _highest = Math.Max(_highest, nodes);
            return;
        }
        if (_highest < MinimumPeak || _peak - nodes < MinimumFall || nodes > _peak / 10 * 6)
        {
            return;
        }
        _peak = nodes;
        Trims++;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
