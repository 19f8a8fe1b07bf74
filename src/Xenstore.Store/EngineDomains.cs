using Xenstore.Protocol;
using Xenstore.Store.Domains;

namespace Xenstore.Store;

/// <summary>What the server asks and tells the engine about domains: privileges, introduction, features, quotas, death.</summary>
public sealed class EngineDomains
{
    private readonly DomainLifecycle _lifecycle;
    private readonly DomainTable _domains;

    internal EngineDomains(DomainLifecycle lifecycle, DomainTable domains)
    {
        _lifecycle = lifecycle;
        _domains = domains;
    }

    /// <summary>dom0 and the <c>--priv-domid</c> domain have full privileges, over any transport.</summary>
    public bool IsPrivileged(uint domid) => _lifecycle.IsPrivileged(domid);

    /// <summary>True when the domain was introduced and has not been released or died since.</summary>
    public bool IsIntroduced(uint domid) => _domains.IsIntroduced(domid);

    /// <summary>The features a domain's ring advertises (its SET_FEATURE value, else the server's).</summary>
    public XsServerFeatures FeaturesOf(uint domid) => _domains.FeaturesOf(domid);

    /// <summary>The quota that applies to a domain (its override, else the global value).</summary>
    public long EffectiveQuota(uint domid, Quota quota) => _domains.QuotaFor(domid, quota);

    /// <summary>Domains introduced, with what their rings need, so a restarted daemon can serve them again.</summary>
    public IReadOnlyList<DomainRecord> Introduced() =>
        _domains.All.Where(d => d.Introduced).Select(DomainTable.ToRecord).ToList();

    /// <summary>
    /// Introduces a domain as INTRODUCE does (a new one fires <c>@introduceDomain</c>; a known one is rebound), for
    /// the domains the daemon serves without being told: dom0 and those that exist when it is the Xenstore domain.
    /// </summary>
    public void Introduce(uint domid, ulong gfn, uint eventChannel) => _lifecycle.Introduce(domid, gfn, eventChannel);

    /// <summary>A domain's ring and the limits and features in force for it now, for its transport.</summary>
    public DomainIntroduction IntroductionOf(uint domid, ulong gfn, uint eventChannel, bool isNew) =>
        _lifecycle.IntroductionOf(domid, gfn, eventChannel, isNew);

    /// <summary>
    /// The hypervisor reports a domain dead: its connections lose their watches and transactions, its nodes go,
    /// entries naming it leave every permission list (XSA-322), and @releaseDomain fires.
    /// </summary>
    public void Release(uint domid) => _lifecycle.Release(domid);

    /// <summary>The hypervisor reports a domain shut down (not dying): @releaseDomain fires once until RESUME.</summary>
    public void Shutdown(uint domid) => _lifecycle.Shutdown(domid);
}
