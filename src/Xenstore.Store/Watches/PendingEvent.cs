using Xenstore.Protocol;

namespace Xenstore.Store.Watches;

/// <summary>
/// A change waiting to fire watches once the request (or commit) is done. The permissions are captured at the
/// time of the change, so a removed node is judged by its own permissions and a SET_PERMS by old and new ones.
/// </summary>
internal readonly record struct PendingEvent(
    string Path,
    XsPermission[] Perms,
    XsPermission[]? ParentPerms,
    XsPermission[]? OldPerms,
    bool ExactOnly);
