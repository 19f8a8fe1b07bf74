using System.Globalization;
using Microsoft.Extensions.Logging;
using Xenstore.Server.Pipeline;
using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>
/// The operator's view of the daemon: per-domain and per-connection accounting, refusals logged, the memory report
/// and the metrics, as CONTROL commands (paged, see <see cref="ControlPages"/>) and as Prometheus text. Store thread.
/// </summary>
internal sealed class OperatorView(AccountingTable table, ConnectionRegistry connections, ServerMetrics metrics, Func<long> journalBytes, ILogger logger)
{
    private readonly AccountingSnapshots _snapshots = new(table, connections);
    private readonly RefusalLog _refusals = new(table.Time, logger);
    private readonly ControlPages _pages = new();

    public AccountingTable Table => table;

    /// <summary>The commands answered here, for CONTROL help.</summary>
    public static bool Handles(string command) => command is "accounting" or "memreport" or "metrics";

    /// <summary>
    /// <c>accounting [--json] [domid]</c>, <c>memreport [file]</c>, <c>metrics</c>, each with an optional
    /// <c>--offset N</c>. Null for arguments that make no sense (EINVAL).
    /// </summary>
    public string? Control(XenstoreEngine engine, int connectionId, string command, IReadOnlyList<string> arguments)
    {
        var args = arguments.ToList();
        if (ControlPages.TakeOffset(args) is not int offset)
        {
            return null;
        }
        switch (command)
        {
            case "accounting":
            {
                bool json = args.Remove("--json");
                uint? domid = null;
                if (args.Count == 1 && uint.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint wanted))
                {
                    domid = wanted;
                }
                else if (args.Count != 0)
                {
                    return null;
                }
                return _pages.Reply(connectionId, offset, () =>
                {
                    AccountingSnapshot snapshot = _snapshots.Take(engine, domid);
                    if (json)
                    {
                        return AccountingJson.Render(domid is null ? snapshot : Only(snapshot, domid.Value));
                    }
                    return domid is null ? AccountingText.Summary(snapshot) : AccountingText.Domain(snapshot, domid.Value);
                });
            }
            case "memreport" when args.Count == 1:
                File.WriteAllText(args[0], MemoryReport.Render(_snapshots.Take(engine), journalBytes()));
                return "OK";
            case "memreport" when args.Count == 0:
                return _pages.Reply(connectionId, offset, () => MemoryReport.Render(_snapshots.Take(engine), journalBytes()));
            case "metrics" when args.Count == 0:
                return _pages.Reply(connectionId, offset, () => RenderMetrics(engine));
            default:
                return null;
        }
    }

    /// <summary>Prometheus text: the daemon's metrics, then the per-domain series.</summary>
    public string RenderMetrics(XenstoreEngine engine) => metrics.Render(engine, _snapshots.Take(engine));

    public void Refused(XenstoreEngine engine, in Refusal refusal)
    {
        if (table.Find(refusal.ConnectionId) is { } counters)
        {
            if (refusal.Kind == RefusalKind.Quota)
            {
                counters.QuotaRefusals[(int)refusal.Quota]++;
            }
            else
            {
                counters.PermissionRefusals++;
            }
        }
        _refusals.Refused(engine, refusal);
    }

    public void ConnectionClosed(int id)
    {
        table.Closed(id);
        _pages.Forget(id);
    }

    public void DomainReleased(uint domid)
    {
        table.DomainReleased(domid);
        _refusals.DomainReleased(domid);
    }

    /// <summary>One domain's rows only, for <c>accounting --json DOMID</c>.</summary>
    private static AccountingSnapshot Only(AccountingSnapshot snapshot, uint domid) => snapshot with
    {
        Domains = snapshot.Domains.Where(d => d.Domid == domid).ToList(),
        Connections = snapshot.Connections.Where(c => c.Counters.Domid == domid).ToList(),
    };
}
