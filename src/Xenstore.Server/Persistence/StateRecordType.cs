namespace Xenstore.Server.Persistence;

/// <summary>
/// Record types of the state files. The numbering follows Xen's migration stream
/// (docs/designs/xenstore-migration.md) where a type exists there; the others are our own, above 0x80.
/// </summary>
internal enum StateRecordType : uint
{
    /// <summary>Ends a snapshot: a snapshot without it is incomplete and ignored.</summary>
    End = 0,
    GlobalQuota = 6,
    Node = 5,
    Domain = 7,
    NodeRemoved = 0x81,
    DomainRemoved = 0x82,

    /// <summary>A domain's ring connection has a watch: domid, flags (1: relative), depth (-1: any), path, token.</summary>
    RingWatch = 0x83,

    /// <summary>A domain's ring connection no longer has a watch: domid, path, token.</summary>
    RingWatchRemoved = 0x84,

    /// <summary>A domain's ring connection has a transaction open: domid, transaction id.</summary>
    RingTransaction = 0x85,

    /// <summary>A transaction of a domain's ring connection ended: domid, transaction id.</summary>
    RingTransactionEnded = 0x86,

    /// <summary>A domain's ring connection has no watches and no transactions: domid.</summary>
    RingCleared = 0x87,
}
