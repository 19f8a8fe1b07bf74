using Xenstore.Protocol;

namespace Xenstore.Store;

/// <summary>The persistent part of what the engine knows about a domain.</summary>
public sealed record DomainRecord(
    uint Domid,
    bool Introduced,
    ulong Gfn,
    uint EventChannel,
    bool Shutdown,
    uint? Target,
    XsServerFeatures Features,
    IReadOnlyDictionary<Quota, long> QuotaOverrides);
