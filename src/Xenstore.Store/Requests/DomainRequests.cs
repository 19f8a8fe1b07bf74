using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Persistence;

namespace Xenstore.Store.Requests;

/// <summary>GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED, INTRODUCE, RELEASE, RESUME and SET_TARGET.</summary>
internal sealed class DomainRequests(DomainTable domains, DomainLifecycle lifecycle, JournalSink journal)
{
    // "GET_DOMAIN_PATH <domid>|": pure formatting of any valid domid, introduced or not (as C 4.22).
    public static XsError GetDomainPath(RequestContext request, ReadOnlySpan<byte> payload)
    {
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> arg) || !CNumbers.TryParseDomid(arg, out uint domid))
        {
            return XsError.EINVAL;
        }
        request.Reply.AppendAscii(XsPath.DomainPath(domid));
        request.Reply.AppendByte(0);
        return XsError.None;
    }

    // "IS_DOMAIN_INTRODUCED <domid>|": T or F; dom0 and DOMID_SELF are always introduced.
    public XsError IsDomainIntroduced(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> arg) || !CNumbers.TryParseDomid(arg, out uint domid))
        {
            return XsError.EINVAL;
        }
        bool introduced = domid == 0 || domid == XsConstants.DomidSelf || domains.IsIntroduced(domid);
        request.Reply.Append(introduced ? "T\0"u8 : "F\0"u8);
        return XsError.None;
    }

    // "INTRODUCE <domid>|<gfn>|<evtchn>|": a new domain fires @introduceDomain; re-introduction rebinds only.
    public XsError Introduce(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        Span<Range> args = stackalloc Range[3];
        if (!PayloadArgs.TrySplitExact(payload, args, 3) || !CNumbers.TryParseDomid(payload[args[0]], out uint domid))
        {
            return XsError.EINVAL;
        }
        ulong gfn = CNumbers.Strtoul(payload[args[1]], out bool gfnValid);
        int port = CNumbers.Atoi(payload[args[2]]);
        if (!gfnValid || port <= 0 || domid >= XsConstants.DomidFirstReserved)
        {
            return XsError.EINVAL;
        }
        lifecycle.Introduce(domid, gfn, (uint)port);
        return request.Ok();
    }

    // "RELEASE <domid>|": the domain is gone for the store: connection, watches, transactions and owned nodes.
    public XsError Release(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        XsError error = GetIntroducedDomainArgument(connection, payload, out uint domid);
        if (error != XsError.None)
        {
            return error;
        }
        lifecycle.Release(domid);
        return request.Ok();
    }

    // "RESUME <domid>|": clears the shutdown state so a later shutdown fires @releaseDomain again.
    public XsError Resume(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        XsError error = GetIntroducedDomainArgument(connection, payload, out uint domid);
        if (error != XsError.None)
        {
            return error;
        }
        Domain domain = domains.Find(domid)!;
        domain.Shutdown = false;
        journal.DomainChanged(domains, domain);
        return request.Ok();
    }

    private XsError GetIntroducedDomainArgument(Connection connection, ReadOnlySpan<byte> payload, out uint domid)
    {
        domid = 0;
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> arg) || !CNumbers.TryParseDomid(arg, out domid))
        {
            return XsError.EINVAL;
        }
        if (domid == 0)
        {
            return XsError.EINVAL;
        }
        return domains.IsIntroduced(domid) ? XsError.None : XsError.ENOENT;
    }

    // "SET_TARGET <domid>|<tdomid>|": domid acts with tdomid's permissions too; both must be introduced.
    public XsError SetTarget(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        Span<Range> args = stackalloc Range[2];
        if (!PayloadArgs.TrySplitExact(payload, args, 2)
            || !CNumbers.TryParseDomid(payload[args[0]], out uint domid)
            || !CNumbers.TryParseDomid(payload[args[1]], out uint target))
        {
            return XsError.EINVAL;
        }
        // dom0 always counts as introduced, as it does in C (its ring exists from the start).
        if ((domid != 0 && !domains.IsIntroduced(domid)) || (target != 0 && !domains.IsIntroduced(target)))
        {
            return XsError.ENOENT;
        }
        Domain domain = domains.GetOrAdd(domid);
        domain.Target = target;
        journal.DomainChanged(domains, domain);
        return request.Ok();
    }
}
