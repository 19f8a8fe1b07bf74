using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>One domain's row: what it holds (from the engine) and what it did (its connections' counters).</summary>
internal sealed record DomainRow(
    DomainUsage Usage,
    int Connections,
    int Outstanding,
    long QueuedBytes,
    long OutputBuffers,
    ConnectionCounters Totals,
    long[] RatesByType)
{
    public uint Domid => Usage.Domid;

    public long RequestsPerSecond => RatesByType.Sum();

    public long Requests => Totals.Requests.Sum();
}

/// <summary>One open connection's row.</summary>
internal sealed record ConnectionRow(
    ConnectionCounters Counters,
    ConnectionUsage? Usage,
    int Outstanding,
    long QueuedBytes,
    long OutputBuffer,
    long[] RatesByType)
{
    public long RequestsPerSecond => RatesByType.Sum();
}

/// <summary>The operator's view at one moment, built on the store thread so every figure is of the same moment.</summary>
internal sealed record AccountingSnapshot(
    IReadOnlyList<DomainRow> Domains,
    IReadOnlyList<ConnectionRow> Connections,
    IReadOnlyList<WatchUsage> Watches,
    ConnectionCounters Released,
    double StoreTickSeconds)
{
    /// <summary>The busiest first: requests in the last second, then requests in total, then domid.</summary>
    public IEnumerable<DomainRow> ByLoad => Domains
        .OrderByDescending(d => d.RequestsPerSecond)
        .ThenByDescending(d => d.Requests)
        .ThenBy(d => d.Domid);
}
