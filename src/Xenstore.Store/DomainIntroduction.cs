using Xenstore.Protocol;

namespace Xenstore.Store;

/// <summary>
/// What a transport needs to serve an introduced domain: where its ring is, and the limits and features in force
/// for it now. A limit of 0 means none (the privileged domain).
/// </summary>
public readonly record struct DomainIntroduction(
    uint Domid,
    ulong Gfn,
    uint EventChannel,
    bool IsNew,
    bool Privileged,
    int OutstandingLimit,
    int WatchEventLimit,
    XsServerFeatures Features);
