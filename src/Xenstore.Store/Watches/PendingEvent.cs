using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Watches;

/// <summary>
/// A change waiting to fire watches once the request (or commit) is done. The permissions are captured at the
/// time of the change, so a removed node is judged by its own permissions and a SET_PERMS by old and new ones.
/// <see cref="Kind"/> lets a commit see a node it created and removed again (no event, as C).
/// </summary>
internal readonly record struct PendingEvent(
    string Path,
    XsPermission[] Perms,
    XsPermission[]? ParentPerms,
    XsPermission[]? OldPerms,
    bool ExactOnly,
    ChangeKind Kind = ChangeKind.ValueSet);
