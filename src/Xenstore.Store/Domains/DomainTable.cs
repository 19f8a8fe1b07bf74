using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Domains;

/// <summary>
/// Every domain the engine knows something about (introduced, targeted, given features or quota overrides, or
/// holding nodes, watches or transactions), the global quota values, and the accounting. A record with nothing left
/// in it is dropped, so the table holds no more entries than domains that matter. Reads never create entries.
/// </summary>
internal sealed class DomainTable : INodeChangeSink
{
    private readonly Dictionary<uint, Domain> _domains = [];

    public DomainTable(QuotaSet initialQuotas, XsServerFeatures serverFeatures)
    {
        // A copy: the global values change at run time (SET_QUOTA, CONTROL quota, recovery), the options do not.
        GlobalQuotas = new QuotaSet(initialQuotas);
        ServerFeatures = serverFeatures;
    }

    /// <summary>The global quota values now in force.</summary>
    public QuotaSet GlobalQuotas { get; }

    /// <summary>Features offered to a domain that did not get a SET_FEATURE.</summary>
    public XsServerFeatures ServerFeatures { get; }

    public IEnumerable<Domain> All => _domains.Values;

    public Domain? Find(uint domid) => _domains.GetValueOrDefault(domid);

    public bool Contains(uint domid) => _domains.ContainsKey(domid);

    /// <summary>True when the domain was introduced and has not been released or died since.</summary>
    public bool IsIntroduced(uint domid) => Find(domid) is { Introduced: true };

    /// <summary>The domain whose permissions <paramref name="domid"/> also holds (SET_TARGET), if any.</summary>
    public uint? TargetOf(uint domid) => Find(domid)?.Target;

    /// <summary>A connection as the permission rules see it; the target is looked up only for the unprivileged.</summary>
    public Caller CallerOf(Connection connection) => connection.Privileged
        ? new Caller(connection.Domid, true, null)
        : new Caller(connection.Domid, false, TargetOf(connection.Domid));

    public XsServerFeatures FeaturesOf(uint domid) => Find(domid)?.Features ?? ServerFeatures;

    public int Usage(uint domid, Accounted kind) => Find(domid)?.UsageOf(kind) ?? 0;

    /// <summary>
    /// Adds <paramref name="delta"/> to one of a domain's counters; the one place accounting changes. A domain with
    /// nothing left afterwards is dropped.
    /// </summary>
    public void Charge(uint domid, Accounted kind, int delta)
    {
        Domain domain = GetOrAdd(domid);
        switch (kind)
        {
            case Accounted.Nodes:
                domain.NodesOwned += delta;
                break;
            case Accounted.Watches:
                domain.Watches += delta;
                break;
            case Accounted.Transactions:
                domain.Transactions += delta;
                break;
        }
        DropIfEmpty(domain);
    }

    /// <summary>Node accounting: a node is charged to its owner (the root to nobody).</summary>
    public void OnChange(in NodeChange change)
    {
        switch (change.Kind)
        {
            case ChangeKind.Created:
                Charge(change.Node.Owner, Accounted.Nodes, 1);
                break;
            case ChangeKind.Removed:
                Charge(change.Node.Owner, Accounted.Nodes, -1);
                break;
            case ChangeKind.PermsSet when change.OldPerms![0].Domid != change.Node.Owner && change.Parent is not null:
                Charge(change.OldPerms[0].Domid, Accounted.Nodes, -1);
                Charge(change.Node.Owner, Accounted.Nodes, 1);
                break;
        }
    }

    /// <summary>The quota that applies to a domain: its override, else the global value. 0 means unlimited.</summary>
    public long QuotaFor(uint domid, Quota quota) =>
        Find(domid) is { } domain && domain.QuotaOverrides.TryGetValue(quota, out long value) ? value : GlobalQuotas[quota];

    /// <summary>True when <paramref name="wanted"/> items stay within the domain's quota (0 = unlimited).</summary>
    public bool Allows(uint domid, Quota quota, long wanted)
    {
        long limit = QuotaFor(domid, quota);
        if (limit == 0 || wanted <= limit)
        {
            return true;
        }
        LastRefusal = (quota, limit);
        return false;
    }

    /// <summary>
    /// The quota <see cref="Allows"/> last said no for, and its limit: the engine reports it with the request's
    /// error. Cleared by the engine before each request.
    /// </summary>
    public (Quota Quota, long Limit)? LastRefusal { get; set; }

    /// <summary>The record of a domain about to be changed, created when missing. Follow with <see cref="DropIfEmpty"/>.</summary>
    public Domain GetOrAdd(uint domid)
    {
        if (!_domains.TryGetValue(domid, out Domain? domain))
        {
            domain = new Domain(domid, ServerFeatures);
            _domains.Add(domid, domain);
        }
        return domain;
    }

    /// <summary>Drops a record that holds nothing worth keeping; true when it was dropped.</summary>
    public bool DropIfEmpty(Domain domain) => domain.IsEmpty && _domains.Remove(domain.Domid);

    public void Remove(uint domid) => _domains.Remove(domid);

    /// <summary>The persistent part of a domain's record.</summary>
    public static DomainRecord ToRecord(Domain domain) => new(
        domain.Domid, domain.Introduced, domain.Gfn, domain.EventChannel, domain.Shutdown, domain.Target,
        domain.Features, new Dictionary<Quota, long>(domain.QuotaOverrides));
}
