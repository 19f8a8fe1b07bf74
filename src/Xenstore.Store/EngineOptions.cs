namespace Xenstore.Store;

/// <summary>Settings of the store engine.</summary>
public sealed class EngineOptions
{
    /// <summary>
    /// Global quota values for unprivileged domains at start. The engine keeps its own copy, which SET_QUOTA, CONTROL
    /// quota and recovery change; this instance is never changed.
    /// </summary>
    public QuotaSet Quotas { get; init; } = new();

    /// <summary>
    /// A domain other than dom0 treated as privileged (C xenstored's <c>--priv-domid</c>). Defaults to none.
    /// </summary>
    public uint? PrivilegedDomid { get; init; }

    /// <summary>
    /// Ring features offered to domains that did not get a SET_FEATURE: RECONNECTION, ERROR, WATCHDEPTH, DOMID_ANY.
    /// </summary>
    public Protocol.XsServerFeatures ServerFeatures { get; init; } =
        Protocol.XsServerFeatures.Reconnection | Protocol.XsServerFeatures.Error
        | Protocol.XsServerFeatures.WatchDepth | Protocol.XsServerFeatures.DomidAny;
}
