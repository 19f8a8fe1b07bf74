namespace Xenstore.Protocol;

/// <summary>Bits of <c>server_features</c> in the ring page and of GET/SET_FEATURE values.</summary>
[Flags]
public enum XsServerFeatures : uint
{
    /// <summary>No optional feature.</summary>
    None = 0,
    /// <summary><c>XENSTORE_SERVER_FEATURE_RECONNECTION</c>: the ring can be reset by the guest.</summary>
    Reconnection = 1,
    /// <summary><c>XENSTORE_SERVER_FEATURE_ERROR</c>: the server reports ring errors in the <c>error</c> field.</summary>
    Error = 2,
    /// <summary><c>XENSTORE_SERVER_FEATURE_WATCHDEPTH</c>: WATCH takes an optional depth argument.</summary>
    WatchDepth = 4,
    /// <summary><c>XENSTORE_SERVER_FEATURE_DOMID_ANY</c>: permission entries may name <see cref="XsConstants.DomidAny"/>.</summary>
    DomidAny = 8,
}
