using Xenstore.Protocol;

namespace Xenstore.Store;

public sealed partial class XenstoreEngine
{
    // "GET_DOMAIN_PATH <domid>|": pure formatting with C's lenient number parsing ("abc" is 0, "-1" wraps).
    private XsError DoGetDomainPath(ReadOnlySpan<byte> payload)
    {
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> arg))
        {
            return XsError.EINVAL;
        }
        _reply.AppendAscii(XsPath.DomainPath(CNumbers.AtoiAsDomid(arg)));
        _reply.AppendByte(0);
        return XsError.None;
    }

    // "IS_DOMAIN_INTRODUCED <domid>|": T or F; dom0 and DOMID_SELF are always introduced.
    private XsError DoIsDomainIntroduced(Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> arg))
        {
            return XsError.EINVAL;
        }
        uint domid = CNumbers.AtoiAsDomid(arg);
        bool introduced = domid == 0 || domid == XsConstants.DomidSelf || IsIntroduced(domid);
        _reply.Append(introduced ? "T\0"u8 : "F\0"u8);
        return XsError.None;
    }

    /// <summary>True when the domain was introduced and has not been released or died since.</summary>
    public bool IsIntroduced(uint domid) => _domains.TryGetValue(domid, out Domain? d) && d.Introduced;

    // "INTRODUCE <domid>|<gfn>|<evtchn>|": a new domain fires @introduceDomain; re-introduction rebinds only.
    private XsError DoIntroduce(Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        Span<Range> args = stackalloc Range[3];
        if (!PayloadArgs.TrySplitExact(payload, args, 3))
        {
            return XsError.EINVAL;
        }
        uint domid = CNumbers.AtoiAsDomid(payload[args[0]]);
        ulong gfn = CNumbers.Strtoul(payload[args[1]], out bool gfnValid);
        int port = (int)CNumbers.AtoiAsDomid(payload[args[2]]);
        if (!gfnValid || port <= 0 || domid >= XsConstants.DomidSelf)
        {
            return XsError.EINVAL;
        }
        IntroduceDomain(domid, gfn, (uint)port);
        return Ok();
    }

    /// <summary>
    /// Introduces a domain as INTRODUCE does (a new one fires <c>@introduceDomain</c>; a known one is rebound). The
    /// daemon calls it itself for the domains it serves without being told: dom0 and the domains that already exist
    /// when it runs as the Xenstore domain (there is no INTRODUCE for dom0).
    /// </summary>
    public void IntroduceDomain(uint domid, ulong gfn, uint eventChannel)
    {
        Domain domain = DomainFor(domid);
        bool isNew = !domain.Introduced;
        domain.Introduced = true;
        domain.Gfn = gfn;
        domain.EventChannel = eventChannel;
        if (isNew)
        {
            domain.Shutdown = false;
            FireSpecial(XsPath.IntroduceDomain, domid);
        }
        JournalDomain(domain);
        _host.DomainIntroduced(IntroductionOf(domid, gfn, eventChannel, isNew));
    }

    /// <summary>A domain's ring and the limits and features in force for it now, for its transport.</summary>
    public DomainIntroduction IntroductionOf(uint domid, ulong gfn, uint eventChannel, bool isNew)
    {
        bool privileged = IsPrivilegedDomain(domid);
        return new DomainIntroduction(domid, gfn, eventChannel, isNew, privileged,
            privileged ? 0 : (int)Math.Min(int.MaxValue, EffectiveQuota(domid, Quota.Outstanding)),
            privileged ? 0 : (int)Math.Min(int.MaxValue, EffectiveQuota(domid, Quota.WatchEvents)),
            FeaturesOf(domid));
    }

    // "RELEASE <domid>|": the domain is gone for the store: connection, watches, transactions and owned nodes.
    private XsError DoRelease(Connection connection, ReadOnlySpan<byte> payload)
    {
        XsError error = GetIntroducedDomainArgument(connection, payload, out uint domid);
        if (error != XsError.None)
        {
            return error;
        }
        ReleaseDomain(domid);
        return Ok();
    }

    // "RESUME <domid>|": clears the shutdown state so a later shutdown fires @releaseDomain again.
    private XsError DoResume(Connection connection, ReadOnlySpan<byte> payload)
    {
        XsError error = GetIntroducedDomainArgument(connection, payload, out uint domid);
        if (error != XsError.None)
        {
            return error;
        }
        _domains[domid].Shutdown = false;
        JournalDomain(_domains[domid]);
        return Ok();
    }

    private XsError GetIntroducedDomainArgument(Connection connection, ReadOnlySpan<byte> payload, out uint domid)
    {
        domid = 0;
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> arg))
        {
            return XsError.EINVAL;
        }
        domid = CNumbers.AtoiAsDomid(arg);
        if (domid == 0)
        {
            return XsError.EINVAL;
        }
        return IsIntroduced(domid) ? XsError.None : XsError.ENOENT;
    }

    // "SET_TARGET <domid>|<tdomid>|": domid acts with tdomid's permissions too; both must be introduced.
    private XsError DoSetTarget(Connection connection, ReadOnlySpan<byte> payload)
    {
        if (!connection.Privileged)
        {
            return XsError.EACCES;
        }
        Span<Range> args = stackalloc Range[2];
        if (!PayloadArgs.TrySplitExact(payload, args, 2))
        {
            return XsError.EINVAL;
        }
        uint domid = CNumbers.AtoiAsDomid(payload[args[0]]);
        uint target = CNumbers.AtoiAsDomid(payload[args[1]]);
        // dom0 always counts as introduced, as it does in C (its ring exists from the start).
        if ((domid != 0 && !IsIntroduced(domid)) || (target != 0 && !IsIntroduced(target)))
        {
            return XsError.ENOENT;
        }
        DomainFor(domid).Target = target;
        JournalDomain(DomainFor(domid));
        return Ok();
    }

    /// <summary>
    /// Releases a domain (RELEASE, or death reported by the hypervisor): its connections lose their watches and
    /// transactions, every node it owns is removed with its subtree (with watch events), entries naming it are
    /// removed from every permission list (so a later domain with the same id inherits nothing, XSA-322), its
    /// accounting is reset, and @releaseDomain fires.
    /// </summary>
    public void ReleaseDomain(uint domid)
    {
        if (!IsIntroduced(domid))
        {
            return;
        }
        foreach (Connection connection in _connections.Values.Where(c => c.Domid == domid).ToArray())
        {
            DropWatchesAndTransactions(connection);
            _connections.Remove(connection.Id);
        }
        RemoveOwnedNodes(domid);
        ScrubPermissionEntries(domid);
        _domains.Remove(domid);
        Journal?.DomainRemoved(domid);
        // A later domain with the same id must not inherit another domain's SET_TARGET relation to it.
        foreach (Domain other in _domains.Values.Where(d => d.Target == domid).ToArray())
        {
            other.Target = null;
            if (other.IsEmpty)
            {
                _domains.Remove(other.Domid);
            }
            JournalDomain(other);
        }
        // As C's destroy_domain: the removed nodes' events first, then @releaseDomain, so a watcher of the
        // special path already sees the domain's nodes gone.
        FirePendingEvents();
        FireSpecial(XsPath.ReleaseDomain, domid);
        _host.DomainReleased(domid);
    }

    /// <summary>The hypervisor reports a domain shut down (not dying): @releaseDomain fires once until RESUME.</summary>
    public void DomainShutdown(uint domid)
    {
        if (_domains.TryGetValue(domid, out Domain? domain) && domain.Introduced && !domain.Shutdown)
        {
            domain.Shutdown = true;
            JournalDomain(domain);
            FireSpecial(XsPath.ReleaseDomain, domid);
        }
    }

    private void RemoveOwnedNodes(uint domid)
    {
        // A node owned by the domain goes with its whole subtree, so the walk does not look below it.
        List<string> owned = NodeWalk.PreOrder("/", _live.Root, descend: node => node == _live.Root || node.Owner != domid)
            .Where(entry => entry.Path != "/" && entry.Node.Owner == domid)
            .Select(entry => entry.Path)
            .ToList();
        var live = new TreeView(_live, null);
        foreach (string path in owned)
        {
            ApplyRemove(live, path);
        }
    }

    private void ScrubPermissionEntries(uint domid)
    {
        List<string> affected = NodeWalk.PreOrder("/", _live.Root)
            .Where(entry => NamesDomainInAcl(entry.Node.Perms, domid))
            .Select(entry => entry.Path)
            .ToList();
        foreach (string path in affected)
        {
            Node node = _live.GetMutable(path);
            node.Perms = [node.Perms[0], .. node.Perms.AsSpan(1).ToArray().Where(p => p.Domid != domid)];
            node.Generation = ++_generation;
            JournalNode(path, node);
        }
        foreach (string special in _specialPerms.Keys.ToArray())
        {
            XsPermission[] perms = _specialPerms[special];
            _specialPerms[special] = [perms[0], .. perms.AsSpan(1).ToArray().Where(p => p.Domid != domid)];
            Journal?.NodeWritten(special, [], _specialPerms[special]);
        }
    }

    private static bool NamesDomainInAcl(XsPermission[] perms, uint domid)
    {
        foreach (XsPermission perm in perms.AsSpan(1))
        {
            if (perm.Domid == domid)
            {
                return true;
            }
        }
        return false;
    }
}
