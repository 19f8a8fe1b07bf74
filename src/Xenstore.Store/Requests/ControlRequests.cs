using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Persistence;

namespace Xenstore.Store.Requests;

/// <summary>CONTROL: the commands the engine answers itself (help, check, quota); the rest go to the host.</summary>
internal sealed class ControlRequests(XenstoreEngine engine, IEngineHost host, DomainTable domains, JournalSink journal)
{
    // C's order and layout (name, tab, arguments); only the commands this daemon implements. Not quota-soft: C's
    // only soft quota is the memory one, and this daemon does not account memory.
    private const string HelpText =
        "accounting\t[--json] [<domid>]\n" +
        "check\t\n" +
        "log\t[on|off|+<switch>|-<switch>]\n" +
        "memreport\t[<file>]\n" +
        "metrics\t\n" +
        "print\t<string>\n" +
        "quota\t[set <name> <val>|<domid>]\n" +
        "help\t\n";

    private static readonly (Quota Quota, string Description)[] s_quotaDescriptions =
    [
        (Quota.Nodes, "Nodes per domain"),
        (Quota.Watches, "Watches per domain"),
        (Quota.Transactions, "Transactions per domain"),
        (Quota.Outstanding, "Outstanding requests per domain"),
        (Quota.TransactionNodes, "Max. number of accessed nodes per transaction"),
        (Quota.NodeSize, "Max. size of a node value"),
        (Quota.PathMax, "Max. length of a node path"),
        (Quota.NodePermissions, "Max. number of permissions per node"),
        (Quota.WatchEvents, "Watch events queued per connection"),
    ];

    // "CONTROL <command>|[<parameters>|]": privileged only.
    public XsError Control(RequestContext request, Connection connection, XsHeader header, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        // Every argument is NUL-terminated, the last one included (C answers "check" without its NUL with EINVAL).
        if (payload.IsEmpty || payload[^1] != 0)
        {
            return XsError.EINVAL;
        }
        string[] args = PayloadStrings.Split(payload);
        if (host.TryDeferControl(engine, connection.Id, header, args[0], args[1..]))
        {
            request.Deferred = true;
            return XsError.None;
        }
        string? text = args[0] switch
        {
            "help" => HelpText,
            "check" => engine.CheckConsistency() ?? "OK",
            "quota" => ControlQuota(args),
            _ => host.Control(engine, connection.Id, args[0], args[1..]),
        };
        if (text is null)
        {
            return XsError.EINVAL;
        }
        request.Reply.AppendAscii(text);
        request.Reply.AppendByte(0);
        return XsError.None;
    }

    private string? ControlQuota(string[] args)
    {
        if (args.Length == 1)
        {
            var table = new StringBuilder("Quota settings:\n");
            foreach ((Quota quota, string description) in s_quotaDescriptions)
            {
                table.Append(CultureInfo.InvariantCulture, $"{QuotaNames.Name(quota),-17}: {domains.GlobalQuotas[quota],8} {description}\n");
            }
            return table.ToString();
        }
        if (args[1] == "set" && args.Length == 4 && QuotaNames.TryParse(args[2], out Quota toSet)
            && long.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value >= 1)
        {
            domains.GlobalQuotas[toSet] = value;
            journal.GlobalQuotaChanged(toSet, value);
            return "OK";
        }
        if (args.Length == 2 && uint.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint domid))
        {
            var usage = new StringBuilder();
            usage.Append(CultureInfo.InvariantCulture, $"Domain {domid}:\n");
            usage.Append(CultureInfo.InvariantCulture, $"{"nodes",-16}: {domains.Usage(domid, Accounted.Nodes),8}\n");
            usage.Append(CultureInfo.InvariantCulture, $"{"watches",-16}: {domains.Usage(domid, Accounted.Watches),8}\n");
            usage.Append(CultureInfo.InvariantCulture, $"{"transactions",-16}: {domains.Usage(domid, Accounted.Transactions),8}\n");
            return usage.ToString();
        }
        return null;
    }
}
