using System.Text.Json;

namespace Xenstore.Cli.Top;

/// <summary>One domain's row of <c>xenstore top</c>, from the daemon's CONTROL accounting --json.</summary>
internal sealed record TopDomain(
    uint Domid,
    string Name,
    long Nodes,
    long Bytes,
    long Watches,
    long Transactions,
    long Connections,
    long Outstanding,
    long QueuedBytes,
    long EventsDropped,
    long RequestsPerSecond,
    long Requests,
    long Errors,
    long Refusals,
    long StoreMicroseconds)
{
    /// <summary>Share of the store thread's time this domain's requests took since the last refresh, in percent.</summary>
    public double StorePercent { get; init; }

    public static IReadOnlyList<TopDomain> Parse(JsonElement root) =>
        root.GetProperty("domains").EnumerateArray().Select(d => new TopDomain(
            d.GetProperty("domid").GetUInt32(),
            d.GetProperty("name").GetString() ?? "-",
            d.GetProperty("nodes").GetInt64(),
            d.GetProperty("bytes").GetInt64(),
            d.GetProperty("watches").GetInt64(),
            d.GetProperty("transactions").GetInt64(),
            d.GetProperty("connections").GetInt64(),
            d.GetProperty("outstanding").GetInt64(),
            d.GetProperty("queued_bytes").GetInt64(),
            d.GetProperty("events_dropped").GetInt64(),
            d.GetProperty("requests_per_s").GetInt64(),
            d.GetProperty("requests").GetInt64(),
            d.GetProperty("errors").EnumerateObject().Sum(e => e.Value.GetInt64()),
            d.GetProperty("refusals").GetInt64(),
            d.GetProperty("store_us").GetInt64())).ToList();
}
