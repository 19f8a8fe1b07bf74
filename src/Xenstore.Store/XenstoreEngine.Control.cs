using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Requests;
using Xenstore.Store.Tree;

namespace Xenstore.Store;

public sealed partial class XenstoreEngine
{
    // C's order and layout (name, tab, arguments); only the commands this daemon implements. Not quota-soft: C's
    // only soft quota is the memory one, and this daemon does not account memory.
    private const string HelpText =
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
    private XsError DoControl(RequestContext request, Connection connection, XsHeader header, ReadOnlySpan<byte> payload)
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
        string[] args = SplitStrings(payload);
        if (_host.TryDeferControl(this, connection.Id, header, args[0], args[1..]))
        {
            request.Deferred = true;
            return XsError.None;
        }
        string? text = args[0] switch
        {
            "help" => HelpText,
            "check" => CheckConsistency() ?? "OK",
            "quota" => ControlQuota(args),
            _ => _host.Control(this, args[0], args[1..]),
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
                table.Append(CultureInfo.InvariantCulture, $"{QuotaNames.Name(quota),-17}: {_domains.GlobalQuotas[quota],8} {description}\n");
            }
            return table.ToString();
        }
        if (args[1] == "set" && args.Length == 4 && QuotaNames.TryParse(args[2], out Quota toSet)
            && long.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value >= 1)
        {
            _domains.GlobalQuotas[toSet] = value;
            _journal.GlobalQuotaChanged(toSet, value);
            return "OK";
        }
        if (args.Length == 2 && uint.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint domid))
        {
            var usage = new StringBuilder();
            usage.Append(CultureInfo.InvariantCulture, $"Domain {domid}:\n");
            usage.Append(CultureInfo.InvariantCulture, $"{"nodes",-16}: {_domains.Usage(domid, Accounted.Nodes),8}\n");
            usage.Append(CultureInfo.InvariantCulture, $"{"watches",-16}: {_domains.Usage(domid, Accounted.Watches),8}\n");
            usage.Append(CultureInfo.InvariantCulture, $"{"transactions",-16}: {_domains.Usage(domid, Accounted.Transactions),8}\n");
            return usage.ToString();
        }
        return null;
    }

    // "GET_FEATURE [<domid>|]": the server's features, or a domain's (privileged).
    private XsError DoGetFeature(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        XsServerFeatures features;
        if (payload.IsEmpty)
        {
            features = _domains.ServerFeatures;
        }
        else
        {
            if (!connection.Privileged)
            {
                return XsError.EACCES;
            }
            if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> arg) || !PayloadArgs.TryParseUInt32(arg, out uint domid))
            {
                return XsError.EINVAL;
            }
            features = _domains.FeaturesOf(domid);
        }
        request.Reply.AppendNumber((uint)features);
        request.Reply.AppendByte(0);
        return XsError.None;
    }

    // "SET_FEATURE <domid>|<value>|": before INTRODUCE only (EBUSY after), only bits the server offers.
    private XsError DoSetFeature(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        Span<Range> args = stackalloc Range[2];
        if (!PayloadArgs.TrySplitExact(payload, args, 2)
            || !PayloadArgs.TryParseUInt32(payload[args[0]], out uint domid)
            || !PayloadArgs.TryParseUInt32(payload[args[1]], out uint value))
        {
            return XsError.EINVAL;
        }
        if ((value & ~(uint)_domains.ServerFeatures) != 0)
        {
            return XsError.EINVAL;
        }
        if (_domains.IsIntroduced(domid))
        {
            return XsError.EBUSY;
        }
        Domain domain = _domains.GetOrAdd(domid);
        domain.Features = (XsServerFeatures)value;
        domain.FeaturesSet = true;
        _journal.DomainChanged(_domains, domain);
        return request.Ok();
    }

    // "GET_QUOTA": names; "<quota>|": global value; "<domid>|<quota>|": a domain's value.
    private XsError DoGetQuota(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        string[] args = SplitStrings(payload);
        if (args.Length == 0)
        {
            request.Reply.AppendAscii(string.Join(' ', QuotaNames.All.Select(QuotaNames.Name)));
            request.Reply.AppendByte(0);
            return XsError.None;
        }
        long value;
        if (args.Length == 1 && QuotaNames.TryParse(args[0], out Quota global))
        {
            value = _domains.GlobalQuotas[global];
        }
        else if (args.Length == 2 && uint.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint domid)
            && QuotaNames.TryParse(args[1], out Quota perDomain))
        {
            value = _domains.QuotaFor(domid, perDomain);
        }
        else
        {
            return XsError.EINVAL;
        }
        request.Reply.AppendNumber(value);
        request.Reply.AppendByte(0);
        return XsError.None;
    }

    // "SET_QUOTA <quota>|<value>|" or "<domid>|<quota>|<value>|": 0 means unlimited.
    private XsError DoSetQuota(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        string[] args = SplitStrings(payload);
        if (args.Length is < 2 or > 3
            || !QuotaNames.TryParse(args[^2], out Quota quota)
            || !long.TryParse(args[^1], NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            return XsError.EINVAL;
        }
        if (args.Length == 2)
        {
            _domains.GlobalQuotas[quota] = value;
            _journal.GlobalQuotaChanged(quota, value);
            return request.Ok();
        }
        if (!uint.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint domid))
        {
            return XsError.EINVAL;
        }
        Domain domain = _domains.GetOrAdd(domid);
        domain.QuotaOverrides[quota] = value;
        _journal.DomainChanged(_domains, domain);
        return request.Ok();
    }

    /// <summary>Checks the tree and the accounting; returns null when consistent, else what is wrong.</summary>
    public string? CheckConsistency()
    {
        var owned = new Dictionary<uint, int>();
        int count = 0;
        var stack = new Stack<Node>();
        stack.Push(_live.Root);
        while (stack.Count > 0)
        {
            Node node = stack.Pop();
            count++;
            if (node.Perms.Length == 0)
            {
                return "node without permissions: " + node.Name;
            }
            if (node != _live.Root)
            {
                owned[node.Owner] = owned.GetValueOrDefault(node.Owner) + 1;
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (Node child in node.Children.Items)
            {
                if (!names.Add(child.Name) || node.Children.Find(child.Name) != child)
                {
                    return "inconsistent children of " + node.Name;
                }
                stack.Push(child);
            }
        }
        if (count != _liveTree.NodeCount)
        {
            return $"node count {_liveTree.NodeCount} but {count} nodes in the tree";
        }
        foreach ((uint domid, int nodes) in owned)
        {
            int accounted = _domains.Usage(domid, Accounted.Nodes);
            if (accounted != nodes)
            {
                return $"domain {domid} owns {nodes} nodes but {accounted} are accounted";
            }
        }
        foreach (Domain domain in _domains.All)
        {
            if (domain.NodesOwned != owned.GetValueOrDefault(domain.Domid))
            {
                return $"domain {domain.Domid} accounts {domain.NodesOwned} nodes but owns {owned.GetValueOrDefault(domain.Domid)}";
            }
        }
        return null;
    }

    private static string[] SplitStrings(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return [];
        }
        ReadOnlySpan<byte> terminated = payload[^1] == 0 ? payload[..^1] : payload;
        var result = new List<string>();
        foreach (Range range in terminated.Split((byte)0))
        {
            result.Add(Encoding.Latin1.GetString(terminated[range]));
        }
        return [.. result];
    }
}
