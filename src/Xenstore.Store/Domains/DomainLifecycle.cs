using Xenstore.Protocol;
using Xenstore.Store.Persistence;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Domains;

/// <summary>
/// What happens to a domain over its life, whoever reports it (a request, the hypervisor, the daemon at start):
/// introduction, shutdown and release, with their watch events, journal records and host notifications.
/// </summary>
internal sealed class DomainLifecycle(
    Dictionary<int, Connection> connections,
    LiveTree live,
    INodeChangeSink liveFeed,
    DomainTable domains,
    WatchTable watches,
    TransactionManager transactions,
    JournalSink journal,
    RecoveredRings recoveredRings,
    IEngineHost host,
    uint? privilegedDomid)
{
    /// <summary>dom0 and the <c>--priv-domid</c> domain have full privileges, over any transport.</summary>
    public bool IsPrivileged(uint domid) => domid == 0 || domid == privilegedDomid;

    /// <summary>
    /// Introduces a domain as INTRODUCE does (a new one fires <c>@introduceDomain</c>; a known one is rebound). The
    /// daemon calls it itself for the domains it serves without being told: dom0 and the domains that already exist
    /// when it runs as the Xenstore domain (there is no INTRODUCE for dom0).
    /// </summary>
    public void Introduce(uint domid, ulong gfn, uint eventChannel)
    {
        Domain domain = domains.GetOrAdd(domid);
        bool isNew = !domain.Introduced;
        domain.Introduced = true;
        domain.Gfn = gfn;
        domain.EventChannel = eventChannel;
        if (isNew)
        {
            domain.Shutdown = false;
            watches.FireSpecial(XsPath.IntroduceDomain, domid);
        }
        journal.DomainChanged(domains, domain);
        host.DomainIntroduced(IntroductionOf(domid, gfn, eventChannel, isNew));
    }

    /// <summary>A domain's ring and the limits and features in force for it now, for its transport.</summary>
    public DomainIntroduction IntroductionOf(uint domid, ulong gfn, uint eventChannel, bool isNew)
    {
        bool privileged = IsPrivileged(domid);
        return new DomainIntroduction(domid, gfn, eventChannel, isNew, privileged,
            privileged ? 0 : (int)Math.Min(int.MaxValue, domains.QuotaFor(domid, Quota.Outstanding)),
            privileged ? 0 : (int)Math.Min(int.MaxValue, domains.QuotaFor(domid, Quota.WatchEvents)),
            domains.FeaturesOf(domid));
    }

    /// <summary>
    /// Releases a domain (RELEASE, or death reported by the hypervisor): its connections lose their watches and
    /// transactions, every node it owns is removed with its subtree (with watch events), entries naming it are
    /// removed from every permission list (so a later domain with the same id inherits nothing, XSA-322), its
    /// accounting is reset, and @releaseDomain fires.
    /// </summary>
    public void Release(uint domid)
    {
        if (!domains.IsIntroduced(domid))
        {
            return;
        }
        foreach (Connection connection in connections.Values.Where(c => c.Domid == domid).ToArray())
        {
            watches.RemoveAll(connection);
            transactions.DropAll(connection);
            connections.Remove(connection.Id);
            connection.Forgotten = true;
        }
        // A ring not served again since a restart: what was recovered for it goes too (the journal's domain
        // removal below says so for recovery).
        recoveredRings.Remove(domid);
        RemoveOwnedNodes(domid);
        ScrubPermissionEntries(domid);
        domains.Remove(domid);
        journal.DomainRemoved(domid);
        // A later domain with the same id must not inherit another domain's SET_TARGET relation to it.
        foreach (Domain other in domains.All.Where(d => d.Target == domid).ToArray())
        {
            other.Target = null;
            domains.DropIfEmpty(other);
            journal.DomainChanged(domains, other);
        }
        // As C's destroy_domain: the removed nodes' events first, then @releaseDomain, so a watcher of the
        // special path already sees the domain's nodes gone.
        watches.FirePending();
        watches.FireSpecial(XsPath.ReleaseDomain, domid);
        host.DomainReleased(domid);
    }

    /// <summary>The hypervisor reports a domain shut down (not dying): @releaseDomain fires once until RESUME.</summary>
    public void Shutdown(uint domid)
    {
        if (domains.Find(domid) is { Introduced: true, Shutdown: false } domain)
        {
            domain.Shutdown = true;
            journal.DomainChanged(domains, domain);
            watches.FireSpecial(XsPath.ReleaseDomain, domid);
        }
    }

    private void RemoveOwnedNodes(uint domid)
    {
        // A node owned by the domain goes with its whole subtree, so the walk does not look below it.
        List<string> owned = NodeWalk.PreOrder("/", live.Root, descend: node => node == live.Root || node.Owner != domid)
            .Where(entry => entry.Path != "/" && entry.Node.Owner == domid)
            .Select(entry => entry.Path)
            .ToList();
        foreach (string path in owned)
        {
            TreeEdits.Remove(live.Nodes, path, liveFeed);
        }
    }

    private void ScrubPermissionEntries(uint domid)
    {
        List<string> affected = NodeWalk.PreOrder("/", live.Root)
            .Where(entry => NamesDomainInAcl(entry.Node.Perms, domid))
            .Select(entry => entry.Path)
            .ToList();
        foreach (string path in affected)
        {
            XsPermission[] perms = live.Nodes.Get(path)!.Perms;
            // Journalled and stamped like any change, but it fires no watch (C's behaviour).
            TreeEdits.SetPerms(live.Nodes, path, [perms[0], .. perms.AsSpan(1).ToArray().Where(p => p.Domid != domid)], liveFeed, WatchReach.None);
        }
        foreach (string special in watches.ScrubSpecialPerms(domid))
        {
            journal.SpecialPermsChanged(special, watches.ExactSpecialPerms(special)!);
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
