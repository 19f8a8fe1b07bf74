using Xenstore.Protocol;
using Xenstore.Store.Domains;

namespace Xenstore.Store;

/// <summary>What the server asks and tells the engine about domains: privileges, introduction, features, quotas, death.</summary>
public sealed class EngineDomains
{
    private readonly XenstoreEngine _engine;
    private readonly DomainTable _domains;
    private readonly uint? _privilegedDomid;

    internal EngineDomains(XenstoreEngine engine, DomainTable domains, uint? privilegedDomid)
    {
        _engine = engine;
        _domains = domains;
        _privilegedDomid = privilegedDomid;
    }

    /// <summary>dom0 and the <c>--priv-domid</c> domain have full privileges, over any transport.</summary>
    public bool IsPrivileged(uint domid) => domid == 0 || domid == _privilegedDomid;

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
    public void Introduce(uint domid, ulong gfn, uint eventChannel) => _engine.IntroduceDomain(domid, gfn, eventChannel);

    /// <summary>A domain's ring and the limits and features in force for it now, for its transport.</summary>
    public DomainIntroduction IntroductionOf(uint domid, ulong gfn, uint eventChannel, bool isNew) =>
        _engine.IntroductionOf(domid, gfn, eventChannel, isNew);

    /// <summary>
    /// The hypervisor reports a domain dead: its connections lose their watches and transactions, its nodes go,
    /// entries naming it leave every permission list (XSA-322), and @releaseDomain fires.
    /// </summary>
    public void Release(uint domid) => _engine.ReleaseDomain(domid);

    /// <summary>The hypervisor reports a domain shut down (not dying): @releaseDomain fires once until RESUME.</summary>
    public void Shutdown(uint domid) => _engine.DomainShutdown(domid);
}
