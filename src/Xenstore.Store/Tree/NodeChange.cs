using Xenstore.Protocol;

namespace Xenstore.Store.Tree;

internal enum ChangeKind
{
    Created,
    ValueSet,
    PermsSet,
    Removed,
}

/// <summary>Which watches a change fires.</summary>
internal enum WatchReach
{
    /// <summary>
    /// None of its own: an ancestor created on the way to the requested node (the requested node's event covers
    /// it), or an ACL entry scrubbed at a domain release.
    /// </summary>
    None,

    /// <summary>Watches on exactly this path: a descendant removed with its subtree, in C's order.</summary>
    Exact,

    /// <summary>Watches on this path and on each of its ancestors.</summary>
    PathAndAncestors,
}

/// <summary>
/// One change to a tree, as its observers see it: <see cref="Node"/> is the node as it now is (as it was, for a
/// removal) and <see cref="Parent"/> its parent (null for the root). A removal reports each removed descendant
/// (<see cref="WatchReach.Exact"/>) before the subtree's root.
/// </summary>
internal readonly record struct NodeChange(
    ChangeKind Kind,
    string Path,
    Node Node,
    Node? Parent,
    XsPermission[]? OldPerms,
    WatchReach Reach)
{
    /// <summary>The descendant of a removed subtree, reported for its watches and accounting only.</summary>
    public bool IsRemovedDescendant => Kind == ChangeKind.Removed && Reach == WatchReach.Exact;
}
