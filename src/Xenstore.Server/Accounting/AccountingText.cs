using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>
/// CONTROL accounting as text: one row per domain, busiest first (a table as xentop prints), or, for one domain,
/// "name : value" lines as CONTROL quota prints them, then its connections and watches.
/// </summary>
internal static class AccountingText
{
    private const string Header =
        "domid name             nodes     bytes watches trans conns outst  queued  events dropped  req/s  requests errors refusals store-ms\n";

    public static string Summary(AccountingSnapshot snapshot)
    {
        var text = new StringBuilder(Header);
        foreach (DomainRow row in snapshot.ByLoad)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{row.Domid,5} {Printable(row.Usage.Name, 16),-16} {row.Usage.Nodes,5} {row.Usage.Bytes,9} {row.Usage.Watches,7} {row.Usage.Transactions,5} {row.Connections,5} {row.Outstanding,5} {row.QueuedBytes,7} {row.Totals.EventsQueued,7} {row.Totals.EventsDropped,7} {row.RequestsPerSecond,6} {row.Requests,9} {row.Totals.Errors.Sum(),6} {row.Totals.Refusals,8} {StoreMilliseconds(snapshot, row.Totals),8:F1}\n");
        }
        return text.ToString();
    }

    public static string Domain(AccountingSnapshot snapshot, uint domid)
    {
        DomainRow? row = snapshot.Domains.FirstOrDefault(d => d.Domid == domid);
        if (row is null)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Domain {domid}: unknown\n");
        }
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Domain {domid} ({Printable(row.Usage.Name, 64)}):\n");
        Line(text, "nodes", row.Usage.Nodes);
        Line(text, "bytes", row.Usage.Bytes);
        Line(text, "watches", row.Usage.Watches);
        Line(text, "transactions", row.Usage.Transactions);
        Line(text, "connections", row.Connections);
        Line(text, "outstanding", row.Outstanding);
        Line(text, "queued-bytes", row.QueuedBytes);
        Counters(text, snapshot, row.Totals, row.RatesByType);
        foreach (ConnectionRow connection in snapshot.Connections.Where(c => c.Counters.Domid == domid))
        {
            text.Append(CultureInfo.InvariantCulture, $"Connection {connection.Counters.Id} ({connection.Counters.Transport}");
            if (!string.IsNullOrEmpty(connection.Counters.Peer))
            {
                text.Append(", ").Append(Printable(connection.Counters.Peer, 64));
            }
            text.Append("):\n");
            Line(text, "watches", connection.Usage?.Watches ?? 0);
            Line(text, "transactions", connection.Usage?.Transactions ?? 0);
            Line(text, "outstanding", connection.Outstanding);
            Line(text, "queued-bytes", connection.QueuedBytes);
            Counters(text, snapshot, connection.Counters, connection.RatesByType);
        }
        if (snapshot.Watches.Count > 0)
        {
            text.Append("Watches:\n");
            foreach (WatchUsage watch in snapshot.Watches)
            {
                text.Append(CultureInfo.InvariantCulture, $"{watch.ConnectionId,8} {Printable(watch.Path, 256)} {Printable(watch.Token, 64)}\n");
            }
        }
        return text.ToString();
    }

    private static void Counters(StringBuilder text, AccountingSnapshot snapshot, ConnectionCounters counters, long[] rates)
    {
        Line(text, "events-queued", counters.EventsQueued);
        Line(text, "events-dropped", counters.EventsDropped);
        Line(text, "requests", counters.Requests.Sum());
        Line(text, "requests/s", rates.Sum());
        text.Append(CultureInfo.InvariantCulture, $"{"store-ms",-16}: {StoreMilliseconds(snapshot, counters),8:F1}\n");
        List("by type", counters.Requests, OperationNames.OfSlot);
        List("by type /s", rates, OperationNames.OfSlot);
        List("errors", counters.Errors, i => XsErrors.Name((XsError)i));
        List("quota refusals", counters.QuotaRefusals, i => QuotaNames.Name((Quota)i));
        Line(text, "perm refusals", counters.PermissionRefusals);

        void List(string title, long[] values, Func<int, string> name)
        {
            var parts = new List<string>();
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] != 0)
                {
                    parts.Add(string.Create(CultureInfo.InvariantCulture, $"{name(i)} {values[i]}"));
                }
            }
            text.Append(CultureInfo.InvariantCulture, $"{title,-16}: {(parts.Count == 0 ? "-" : string.Join(", ", parts))}\n");
        }
    }

    private static void Line(StringBuilder text, string name, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"{name,-16}: {value,8}\n");

    public static double StoreMilliseconds(AccountingSnapshot snapshot, ConnectionCounters counters) =>
        counters.StoreTicks * snapshot.StoreTickSeconds * 1000;

    /// <summary>Printable ASCII only (a CONTROL reply is ASCII), cut to <paramref name="width"/>; "-" for none.</summary>
    public static string Printable(string? text, int width)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "-";
        }
        var result = new StringBuilder(Math.Min(text.Length, width));
        foreach (char c in text)
        {
            if (result.Length == width)
            {
                break;
            }
            result.Append(c is >= ' ' and <= '~' ? c : '?');
        }
        return result.ToString();
    }
}
