namespace Xenstore.Store;

/// <summary>
/// The per-domain limits, named as C xenstored 4.22 names them (GET/SET_QUOTA, CONTROL quota, command line).
/// Every limit is an inclusive maximum: a domain may hold exactly that many items, the next one is refused.
/// </summary>
public enum Quota
{
    /// <summary>Nodes owned by the domain (ENOSPC).</summary>
    Nodes,
    /// <summary>Watches registered by the domain (ENOSPC).</summary>
    Watches,
    /// <summary>Transactions open at once (ENOSPC).</summary>
    Transactions,
    /// <summary>Requests received but not yet answered; the daemon stops reading beyond it.</summary>
    Outstanding,
    /// <summary>Distinct nodes one transaction may access (ENOSPC).</summary>
    TransactionNodes,
    /// <summary>Bytes of a node's value (ENOSPC).</summary>
    NodeSize,
    /// <summary>Bytes of a path below the domain's home, or of the whole path elsewhere (EINVAL).</summary>
    PathMax,
    /// <summary>Entries of a node's permission list, owner included (ENOSPC).</summary>
    NodePermissions,
    /// <summary>Watch events queued for a connection before the oldest are dropped.</summary>
    WatchEvents,
}
