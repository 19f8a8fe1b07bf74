using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Watches;

/// <summary>
/// A change waiting to fire watches once the request (or commit) is done. The permissions are captured at the
/// time of the change, so a removed node is judged by its own permissions and a SET_PERMS by old and new ones.
/// <see cref="Kind"/> lets a commit see a node it created and removed again (no event, as C). <see cref="OnTheWay"/>
/// marks a node a commit created on the way to another: it fires only as the last change of a node the transaction
/// changed itself (a node it made, removed, and then made again on the way exists after the commit, and fires).
/// </summary>
internal readonly record struct PendingEvent(
    string Path,
    XsPermission[] Perms,
    XsPermission[]? ParentPerms,
    XsPermission[]? OldPerms,
    bool ExactOnly,
    ChangeKind Kind = ChangeKind.ValueSet,
    bool OnTheWay = false);
