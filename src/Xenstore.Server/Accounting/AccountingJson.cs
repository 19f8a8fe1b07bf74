using System.Buffers;
using System.Text;
using System.Text.Json;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>
/// CONTROL accounting --json: <c>{"domains": [...], "connections": [...], "watches": [...]}</c>, domains busiest
/// first. Written with <see cref="Utf8JsonWriter"/>, whose default escaping keeps the text ASCII.
/// </summary>
internal static class AccountingJson
{
    public static string Render(AccountingSnapshot snapshot)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("domains");
            foreach (DomainRow row in snapshot.ByLoad)
            {
                json.WriteStartObject();
                json.WriteNumber("domid", row.Domid);
                json.WriteString("name", row.Usage.Name);
                json.WriteNumber("nodes", row.Usage.Nodes);
                json.WriteNumber("bytes", row.Usage.Bytes);
                json.WriteNumber("watches", row.Usage.Watches);
                json.WriteNumber("transactions", row.Usage.Transactions);
                json.WriteNumber("connections", row.Connections);
                json.WriteNumber("outstanding", row.Outstanding);
                json.WriteNumber("queued_bytes", row.QueuedBytes);
                Counters(json, snapshot, row.Totals, row.RatesByType);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("connections");
            foreach (ConnectionRow row in snapshot.Connections)
            {
                json.WriteStartObject();
                json.WriteNumber("id", row.Counters.Id);
                json.WriteNumber("domid", row.Counters.Domid);
                json.WriteString("transport", row.Counters.Transport);
                json.WriteString("peer", row.Counters.Peer);
                json.WriteNumber("watches", row.Usage?.Watches ?? 0);
                json.WriteNumber("transactions", row.Usage?.Transactions ?? 0);
                json.WriteNumber("outstanding", row.Outstanding);
                json.WriteNumber("queued_bytes", row.QueuedBytes);
                Counters(json, snapshot, row.Counters, row.RatesByType);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("watches");
            foreach (WatchUsage watch in snapshot.Watches)
            {
                json.WriteStartObject();
                json.WriteNumber("connection", watch.ConnectionId);
                json.WriteString("path", watch.Path);
                json.WriteString("token", watch.Token);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.ASCII.GetString(buffer.WrittenSpan);
    }

    private static void Counters(Utf8JsonWriter json, AccountingSnapshot snapshot, ConnectionCounters counters, long[] rates)
    {
        json.WriteNumber("events_queued", counters.EventsQueued);
        json.WriteNumber("events_dropped", counters.EventsDropped);
        json.WriteNumber("requests", counters.Requests.Sum());
        json.WriteNumber("requests_per_s", rates.Sum());
        json.WriteNumber("refusals", counters.Refusals);
        json.WriteNumber("permission_refusals", counters.PermissionRefusals);
        json.WriteNumber("store_us", Math.Round(AccountingText.StoreMilliseconds(snapshot, counters) * 1000));
        Map(json, "requests_by_type", counters.Requests, OperationNames.OfSlot);
        Map(json, "requests_per_s_by_type", rates, OperationNames.OfSlot);
        Map(json, "errors", counters.Errors, i => XsErrors.Name((XsError)i));
        Map(json, "quota_refusals", counters.QuotaRefusals, i => QuotaNames.Name((Quota)i));
    }

    private static void Map(Utf8JsonWriter json, string name, long[] values, Func<int, string> key)
    {
        json.WriteStartObject(name);
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] != 0)
            {
                json.WriteNumber(key(i), values[i]);
            }
        }
        json.WriteEndObject();
    }
}
