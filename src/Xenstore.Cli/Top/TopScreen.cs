using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Xenstore.Cli.Top;

/// <summary>The text of <c>xenstore top</c>'s views: the domain table and one domain's connections and watches.</summary>
internal static class TopScreen
{
    public const string ColumnHeader =
        "DOMID NAME             NODES     BYTES WATCH TRANS CONN OUTST  QUEUED  DROP  REQ/S   REQUESTS ERRORS REFUSED STORE%";

    public static string Summary(IReadOnlyList<TopDomain> domains, DateTime now, TopSort sort)
    {
        long rate = domains.Sum(d => d.RequestsPerSecond);
        return string.Create(CultureInfo.InvariantCulture,
            $"xenstore top - {now:HH:mm:ss}  {domains.Count} domains, {domains.Sum(d => d.Connections)} connections, {rate} req/s, {domains.Sum(d => d.Nodes)} nodes, sorted by {TopSorts.Title(sort)}");
    }

    public static string Row(TopDomain d) => string.Create(CultureInfo.InvariantCulture,
        $"{d.Domid,5} {Cut(d.Name, 16),-16} {d.Nodes,5} {d.Bytes,9} {d.Watches,5} {d.Transactions,5} {d.Connections,4} {d.Outstanding,5} {d.QueuedBytes,7} {d.EventsDropped,5} {d.RequestsPerSecond,6} {d.Requests,10} {d.Errors,6} {d.Refusals,7} {d.StorePercent,6:F1}");

    /// <summary>The table as <c>--batch</c> prints it.</summary>
    public static string Batch(IReadOnlyList<TopDomain> domains, DateTime now, TopSort sort)
    {
        var text = new StringBuilder();
        text.Append(Summary(domains, now, sort)).Append('\n').Append(ColumnHeader).Append('\n');
        foreach (TopDomain domain in domains)
        {
            text.Append(Row(domain)).Append('\n');
        }
        return text.Append('\n').ToString();
    }

    /// <summary>One domain: its figures, its connections (with the peer process of a socket) and its watches.</summary>
    public static List<string> Detail(JsonElement root, uint domid)
    {
        var lines = new List<string>();
        JsonElement? domain = root.GetProperty("domains").EnumerateArray()
            .Where(d => d.GetProperty("domid").GetUInt32() == domid).Select(d => (JsonElement?)d).FirstOrDefault();
        if (domain is not JsonElement d)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"Domain {domid}: gone"));
            return lines;
        }
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"Domain {domid} ({d.GetProperty("name").GetString() ?? "-"})"));
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"nodes {d.GetProperty("nodes")}  bytes {d.GetProperty("bytes")}  watches {d.GetProperty("watches")}  transactions {d.GetProperty("transactions")}  req/s {d.GetProperty("requests_per_s")}  requests {d.GetProperty("requests")}  refusals {d.GetProperty("refusals")}"));
        lines.Add("requests by type: " + Map(d.GetProperty("requests_by_type")));
        lines.Add("errors: " + Map(d.GetProperty("errors")) + "   quota refusals: " + Map(d.GetProperty("quota_refusals")));
        lines.Add("");
        lines.Add("Connections:");
        lines.Add("   ID TRANSPORT PEER                      WATCH TRANS OUTST  QUEUED  REQ/S   REQUESTS REFUSED");
        foreach (JsonElement c in root.GetProperty("connections").EnumerateArray().Where(c => c.GetProperty("domid").GetUInt32() == domid))
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{c.GetProperty("id").GetInt32(),5} {c.GetProperty("transport").GetString(),-9} {Cut(c.GetProperty("peer").GetString() ?? "-", 25),-25} {c.GetProperty("watches").GetInt64(),5} {c.GetProperty("transactions").GetInt64(),5} {c.GetProperty("outstanding").GetInt64(),5} {c.GetProperty("queued_bytes").GetInt64(),7} {c.GetProperty("requests_per_s").GetInt64(),6} {c.GetProperty("requests").GetInt64(),10} {c.GetProperty("refusals").GetInt64(),7}"));
        }
        lines.Add("");
        lines.Add("Watches:");
        foreach (JsonElement w in root.GetProperty("watches").EnumerateArray())
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{w.GetProperty("connection").GetInt32(),5} {w.GetProperty("path").GetString()} {w.GetProperty("token").GetString()}"));
        }
        return lines;
    }

    private static string Map(JsonElement map)
    {
        string text = string.Join(", ", map.EnumerateObject().Select(p => $"{p.Name} {p.Value}"));
        return text.Length == 0 ? "-" : text;
    }

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..width];
}
