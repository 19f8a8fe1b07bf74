using Xenstore.Protocol;
using Xenstore.Store.Access;

namespace Xenstore.Store.Tree;

/// <summary>
/// The four changes a tree undergoes, each reported to a sink as it is made. They assume every check has been
/// made and cannot fail. The same code changes the live tree (whose sink keeps generations, accounting, journal and
/// watches) and a transaction's tree (whose sink keeps only the transaction's quota delta).
/// </summary>
internal static class TreeEdits
{
    /// <summary>Creates <paramref name="path"/> and any missing ancestors; the last one gets the value.</summary>
    public static Node CreatePath(NodeTree tree, NameCache names, string path, byte[] value, uint creator, bool creatorPrivileged, INodeChangeSink sink)
    {
        (Node _, string existingPath) = tree.NearestExisting(path);
        Node parent = tree.GetMutable(existingPath);
        Node created = parent;
        int start = existingPath == "/" ? 1 : existingPath.Length + 1;
        while (start <= path.Length)
        {
            int slash = path.IndexOf('/', start);
            int end = slash < 0 ? path.Length : slash;
            string name = names.Get(path.AsSpan(start, end - start));
            bool requested = end == path.Length;
            XsPermission[] perms = AccessPolicy.Inherited(parent.Perms, creator, creatorPrivileged);
            created = tree.AddChild(parent, name, requested ? value : [], perms);
            sink.OnChange(new NodeChange(ChangeKind.Created, requested ? path : path[..end], created, parent, null,
                requested ? WatchReach.PathAndAncestors : WatchReach.None));
            parent = created;
            start = end + 1;
        }
        return created;
    }

    public static void SetValue(NodeTree tree, string path, byte[] value, INodeChangeSink sink)
    {
        Node node = tree.GetMutable(path, out Node? parent);
        node.SetValue(value);
        sink.OnChange(new NodeChange(ChangeKind.ValueSet, path, node, parent, null, WatchReach.PathAndAncestors));
    }

    /// <summary>Replaces a node's permissions; <paramref name="reach"/> None for a change nobody asked for.</summary>
    public static void SetPerms(NodeTree tree, string path, XsPermission[] perms, INodeChangeSink sink, WatchReach reach = WatchReach.PathAndAncestors)
    {
        Node node = tree.GetMutable(path, out Node? parent);
        XsPermission[] old = node.Perms;
        node.Perms = perms;
        sink.OnChange(new NodeChange(ChangeKind.PermsSet, path, node, parent, old, reach));
    }

    /// <summary>
    /// Removes a subtree. Reports removed descendants in C's order (each child's subtree before the child itself,
    /// children in list order), then the node.
    /// </summary>
    public static void Remove(NodeTree tree, string path, INodeChangeSink sink)
    {
        Node parent = tree.GetMutable(XsPath.Parent(path));
        Node node = parent.Children.Find(XsPath.LastComponent(path))!;
        // A pre-order walk that visits children last-first, reversed, is the post-order walk C's recursion makes.
        var removed = new List<(string Path, Node Node, Node Parent)>();
        var stack = new Stack<(string, Node, Node)>();
        foreach (Node child in node.Children.Items)
        {
            stack.Push((path + "/" + child.Name, child, node));
        }
        while (stack.Count > 0)
        {
            (string currentPath, Node current, Node currentParent) = stack.Pop();
            removed.Add((currentPath, current, currentParent));
            foreach (Node child in current.Children.Items)
            {
                stack.Push((currentPath + "/" + child.Name, child, current));
            }
        }
        removed.Reverse();
        tree.RemoveChild(parent, node.Name);
        foreach ((string removedPath, Node gone, Node goneParent) in removed)
        {
            sink.OnChange(new NodeChange(ChangeKind.Removed, removedPath, gone, goneParent, null, WatchReach.Exact));
        }
        sink.OnChange(new NodeChange(ChangeKind.Removed, path, node, parent, null, WatchReach.PathAndAncestors));
    }
}
