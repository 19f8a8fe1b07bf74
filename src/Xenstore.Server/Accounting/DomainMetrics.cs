using System.Globalization;
using System.Text;

namespace Xenstore.Server.Accounting;

/// <summary>
/// Per-domain Prometheus series with bounded cardinality: the <see cref="Busiest"/> busiest domains by name, and
/// every other domain (released ones included) summed under <c>domain="other"</c>.
/// </summary>
internal static class DomainMetrics
{
    public const int Busiest = 10;

    public static void Render(StringBuilder text, AccountingSnapshot snapshot)
    {
        var rows = new List<(string Label, Figures Figures)>();
        var other = new Figures();
        other.Add(snapshot.Released, null);
        int rank = 0;
        foreach (DomainRow row in snapshot.ByLoad)
        {
            if (rank++ < Busiest)
            {
                var figures = new Figures();
                figures.Add(row.Totals, row);
                string name = Escape(row.Usage.Name ?? "");
                rows.Add((string.Create(CultureInfo.InvariantCulture, $"domain=\"{name}\",domid=\"{row.Domid}\""), figures));
            }
            else
            {
                other.Add(row.Totals, row);
            }
        }
        rows.Add(("domain=\"other\",domid=\"\"", other));
        Series(text, "xenstore_domain_nodes", "gauge", rows, f => f.Nodes);
        Series(text, "xenstore_domain_bytes", "gauge", rows, f => f.Bytes);
        Series(text, "xenstore_domain_watches", "gauge", rows, f => f.Watches);
        Series(text, "xenstore_domain_transactions", "gauge", rows, f => f.Transactions);
        Series(text, "xenstore_domain_connections", "gauge", rows, f => f.Connections);
        Series(text, "xenstore_domain_queued_output_bytes", "gauge", rows, f => f.Queued);
        Series(text, "xenstore_domain_requests_total", "counter", rows, f => f.Requests);
        Series(text, "xenstore_domain_errors_total", "counter", rows, f => f.Errors);
        Series(text, "xenstore_domain_quota_refusals_total", "counter", rows, f => f.QuotaRefusals);
        Series(text, "xenstore_domain_permission_refusals_total", "counter", rows, f => f.PermissionRefusals);
        Series(text, "xenstore_domain_watch_events_dropped_total", "counter", rows, f => f.EventsDropped);
        Series(text, "xenstore_domain_store_microseconds_total", "counter", rows,
            f => (long)(f.StoreTicks * snapshot.StoreTickSeconds * 1e6));
    }

    private static void Series(StringBuilder text, string name, string type, List<(string Label, Figures Figures)> rows, Func<Figures, long> value)
    {
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach ((string label, Figures figures) in rows)
        {
            text.Append(name).Append('{').Append(label).Append("} ")
                .Append(value(figures).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static string Escape(string value) =>
        AccountingText.Printable(value, 64).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    private sealed class Figures
    {
        public long Nodes { get; private set; }

        public long Bytes { get; private set; }

        public long Watches { get; private set; }

        public long Transactions { get; private set; }

        public long Connections { get; private set; }

        public long Queued { get; private set; }

        public long Requests { get; private set; }

        public long Errors { get; private set; }

        public long QuotaRefusals { get; private set; }

        public long PermissionRefusals { get; private set; }

        public long EventsDropped { get; private set; }

        public long StoreTicks { get; private set; }

        public void Add(ConnectionCounters counters, DomainRow? row)
        {
            if (row is not null)
            {
                Nodes += row.Usage.Nodes;
                Bytes += row.Usage.Bytes;
                Watches += row.Usage.Watches;
                Transactions += row.Usage.Transactions;
                Connections += row.Connections;
                Queued += row.QueuedBytes;
            }
            Requests += counters.Requests.Sum();
            Errors += counters.Errors.Sum();
            QuotaRefusals += counters.QuotaRefusals.Sum();
            PermissionRefusals += counters.PermissionRefusals;
            EventsDropped += counters.EventsDropped;
            StoreTicks += counters.StoreTicks;
        }
    }
}
