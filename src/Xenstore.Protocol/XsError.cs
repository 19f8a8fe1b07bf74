namespace Xenstore.Protocol;

/// <summary>
/// The errno names a Xenstore server may send in an ERROR reply, in the order of <c>xsd_errors[]</c> in xs_wire.h.
/// </summary>
public enum XsError
{
    /// <summary>No error.</summary>
    None = -1,
    /// <summary>Invalid argument.</summary>
    EINVAL = 0,
    /// <summary>Permission denied.</summary>
    EACCES,
    /// <summary>Already exists (e.g. a duplicate watch).</summary>
    EEXIST,
    /// <summary>Is a directory (unused by servers).</summary>
    EISDIR,
    /// <summary>No such node, transaction or watch.</summary>
    ENOENT,
    /// <summary>Out of memory; also a commit of a failed transaction.</summary>
    ENOMEM,
    /// <summary>A quota was exceeded.</summary>
    ENOSPC,
    /// <summary>Input/output error.</summary>
    EIO,
    /// <summary>Directory not empty (unused by servers).</summary>
    ENOTEMPTY,
    /// <summary>Unknown or unsupported message type.</summary>
    ENOSYS,
    /// <summary>Read-only (unused by current servers).</summary>
    EROFS,
    /// <summary>Busy: nested transaction, or a state that forbids the request.</summary>
    EBUSY,
    /// <summary>Transaction conflict: retry the whole transaction.</summary>
    EAGAIN,
    /// <summary>Already connected (unused by servers).</summary>
    EISCONN,
    /// <summary>The reply or an argument is too large.</summary>
    E2BIG,
    /// <summary>Operation not permitted (an unprivileged owner change).</summary>
    EPERM,
}
