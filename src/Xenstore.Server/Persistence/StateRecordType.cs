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
}
