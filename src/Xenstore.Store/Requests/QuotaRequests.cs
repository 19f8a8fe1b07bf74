using System.Globalization;
using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Persistence;

namespace Xenstore.Store.Requests;

/// <summary>GET_FEATURE, SET_FEATURE, GET_QUOTA and SET_QUOTA: privileged reads and changes of domain settings.</summary>
internal sealed class QuotaRequests(DomainTable domains, JournalSink journal)
{
    // "GET_FEATURE [<domid>|]": the server's features, or a domain's (privileged).
    public XsError GetFeature(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        XsServerFeatures features;
        if (payload.IsEmpty)
        {
            features = domains.ServerFeatures;
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
            features = domains.FeaturesOf(domid);
        }
        request.Reply.AppendNumber((uint)features);
        request.Reply.AppendByte(0);
        return XsError.None;
    }

    // "SET_FEATURE <domid>|<value>|": before INTRODUCE only (EBUSY after), only bits the server offers.
    public XsError SetFeature(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
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
        if ((value & ~(uint)domains.ServerFeatures) != 0)
        {
            return XsError.EINVAL;
        }
        // dom0's connection exists from the start, as if introduced (C 4.22 answers EBUSY for it too).
        if (domid == 0 || domains.IsIntroduced(domid))
        {
            return XsError.EBUSY;
        }
        Domain domain = domains.GetOrAdd(domid);
        domain.Features = (XsServerFeatures)value;
        domain.FeaturesSet = true;
        journal.DomainChanged(domains, domain);
        return request.Ok();
    }

    // "GET_QUOTA": names; "<quota>|": global value; "<domid>|<quota>|": a domain's value.
    public XsError GetQuota(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        string[] args = PayloadStrings.Split(payload);
        if (args.Length == 0)
        {
            request.Reply.AppendAscii(string.Join(' ', QuotaNames.All.Select(QuotaNames.Name)));
            request.Reply.AppendByte(0);
            return XsError.None;
        }
        long value;
        if (args.Length == 1 && QuotaNames.TryParse(args[0], out Quota global))
        {
            value = domains.GlobalQuotas[global];
        }
        else if (args.Length == 2 && uint.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint domid)
            && QuotaNames.TryParse(args[1], out Quota perDomain))
        {
            value = domains.QuotaFor(domid, perDomain);
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
    public XsError SetQuota(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        string[] args = PayloadStrings.Split(payload);
        if (args.Length is < 2 or > 3
            || !QuotaNames.TryParse(args[^2], out Quota quota)
            || !long.TryParse(args[^1], NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            return XsError.EINVAL;
        }
        if (args.Length == 2)
        {
            domains.GlobalQuotas[quota] = value;
            journal.GlobalQuotaChanged(quota, value);
            return request.Ok();
        }
        if (!uint.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint domid))
        {
            return XsError.EINVAL;
        }
        Domain domain = domains.GetOrAdd(domid);
        domain.QuotaOverrides[quota] = value;
        journal.DomainChanged(domains, domain);
        return request.Ok();
    }
}
