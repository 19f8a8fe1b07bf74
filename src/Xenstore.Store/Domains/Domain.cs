using Xenstore.Protocol;

namespace Xenstore.Store.Domains;

/// <summary>What the engine knows about one domain id: introduction, target, features, overrides, usage.</summary>
internal sealed class Domain(uint domid, XsServerFeatures features)
{
    public uint Domid { get; } = domid;

    public bool Introduced { get; set; }

    public ulong Gfn { get; set; }

    public uint EventChannel { get; set; }

    /// <summary>C fires @releaseDomain once per shutdown until RESUME.</summary>
    public bool Shutdown { get; set; }

    /// <summary>SET_TARGET: this domain acts with the target's permissions as well as its own.</summary>
    public uint? Target { get; set; }

    public XsServerFeatures Features { get; set; } = features;

    /// <summary>SET_FEATURE chose the features (kept even before the domain is introduced).</summary>
    public bool FeaturesSet { get; set; }

    /// <summary>Per-domain quota values set by SET_QUOTA; absent entries use the global value.</summary>
    public Dictionary<Quota, long> QuotaOverrides { get; } = [];

    /// <summary>Usage counters, changed only through <see cref="DomainTable.Charge"/>.</summary>
    public int NodesOwned { get; set; }

    public int Watches { get; set; }

    public int Transactions { get; set; }

    public int UsageOf(Accounted kind) => kind switch
    {
        Accounted.Nodes => NodesOwned,
        Accounted.Watches => Watches,
        _ => Transactions,
    };

    /// <summary>Nothing worth keeping: the record can be dropped.</summary>
    public bool IsEmpty => !Introduced && !FeaturesSet && Target is null && QuotaOverrides.Count == 0 && NodesOwned == 0
        && Watches == 0 && Transactions == 0;
}
