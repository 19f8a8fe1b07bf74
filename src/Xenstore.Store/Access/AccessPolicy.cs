using Xenstore.Protocol;

namespace Xenstore.Store.Access;

/// <summary>
/// C xenstored's permission rules as pure functions of the caller and permission lists: what access a caller has
/// (perm_for_conn), existence hiding, the permissions a new node inherits, who may change permissions, and which
/// watchers hear of a change (XSA-115).
/// </summary>
internal static class AccessPolicy
{
    /// <summary>
    /// The access a caller has to a node with these permissions (C 4.22's perm_for_conn): privileged callers and
    /// the owner have all; otherwise the first ACL entry, in list order, that names the domain, its SET_TARGET or
    /// DOMID_ANY gives its letter; otherwise the owner entry's letter. An owner of DOMID_ANY makes every domain an
    /// owner, as in C.
    /// </summary>
    public static XsAccess AccessFor(in Caller caller, XsPermission[] perms)
    {
        if (caller.Privileged || Names(caller, perms[0].Domid))
        {
            return XsAccess.Both;
        }
        for (int i = 1; i < perms.Length; i++)
        {
            if (Names(caller, perms[i].Domid))
            {
                return perms[i].Access;
            }
        }
        return perms[0].Access;
    }

    /// <summary>Whether a permission entry applies to the caller (C's perm_allows_conn).</summary>
    private static bool Names(in Caller caller, uint domid) =>
        domid == caller.Domid || domid == caller.Target || domid == XsConstants.DomidAny;

    public static bool HasAccess(in Caller caller, XsPermission[] perms, XsAccess needed) =>
        (AccessFor(caller, perms) & needed) == needed;

    /// <summary>
    /// Existence hiding (C's behaviour): a failure on a path is reported as is only when the caller holds the
    /// needed right on the nearest existing ancestor; otherwise EACCES, so a domain cannot probe what it may not see.
    /// </summary>
    public static XsError HideExistence(in Caller caller, XsPermission[] nearestExistingPerms, XsAccess needed, XsError original) =>
        HasAccess(caller, nearestExistingPerms, needed) ? original : XsError.EACCES;

    /// <summary>
    /// New nodes copy their parent's permissions; an unprivileged creator becomes the owner (C's rule, so a guest
    /// can read back what it wrote under a shared directory).
    /// </summary>
    public static XsPermission[] Inherited(XsPermission[] parentPerms, uint creator, bool creatorPrivileged)
    {
        if (creatorPrivileged || parentPerms[0].Domid == creator)
        {
            return parentPerms;
        }
        var perms = (XsPermission[])parentPerms.Clone();
        perms[0] = perms[0] with { Domid = creator };
        return perms;
    }

    /// <summary>The owner of a node, the domain that holds the owner as its SET_TARGET, or any domain when the owner is DOMID_ANY.</summary>
    public static bool IsOwnerOrTarget(in Caller caller, uint owner) => Names(caller, owner);

    /// <summary>
    /// SET_PERMS: the privileged may do anything; otherwise only the owner (or its target holder), and without
    /// changing the owner (EPERM).
    /// </summary>
    public static XsError MaySetPerms(in Caller caller, uint currentOwner, uint newOwner)
    {
        if (caller.Privileged)
        {
            return XsError.None;
        }
        if (!IsOwnerOrTarget(caller, currentOwner))
        {
            return XsError.EACCES;
        }
        return newOwner == currentOwner ? XsError.None : XsError.EPERM;
    }

    /// <summary>
    /// XSA-115: an unprivileged watcher hears of a change only if it may read the node (before or after a change
    /// of permissions) or its parent.
    /// </summary>
    public static bool MayReceive(in Caller watcher, XsPermission[] perms, XsPermission[]? oldPerms, XsPermission[]? parentPerms) =>
        watcher.Privileged
        || HasAccess(watcher, perms, XsAccess.Read)
        || (oldPerms is not null && HasAccess(watcher, oldPerms, XsAccess.Read))
        || (parentPerms is not null && HasAccess(watcher, parentPerms, XsAccess.Read));
}
