using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Domains;
using Xenstore.Store.Transactions;

namespace Xenstore.Store;

/// <summary>
/// The changes themselves, shared by direct requests and by transaction commit. They assume every check has been
/// made and cannot fail. On the live tree they stamp generations, keep the node accounting and queue watch
/// events; on a transaction's tree they keep only the transaction's own quota delta.
/// </summary>
public sealed partial class XenstoreEngine
{
    /// <summary>Creates <paramref name="path"/> and any missing ancestors; the last one gets the value.</summary>
    private Node ApplyCreatePath(NodeTree tree, Transaction? tx, string path, byte[] value, uint creator, bool creatorPrivileged)
    {
        bool live = tx is null;
        (Node _, string existingPath) = tree.NearestExisting(path);
        Node parent = tree.GetMutable(existingPath);
        string parentPath = existingPath;
        Node created = parent;
        int start = existingPath == "/" ? 1 : existingPath.Length + 1;
        while (start <= path.Length)
        {
            int slash = path.IndexOf('/', start);
            int end = slash < 0 ? path.Length : slash;
            string name = _names.Get(path.AsSpan(start, end - start));
            string childPath = path[..end];
            XsPermission[] perms = AccessPolicy.Inherited(parent.Perms, creator, creatorPrivileged);
            created = tree.AddChild(parent, name, end == path.Length ? value : [], perms);
            if (live)
            {
                created.Generation = ++_generation;
                created.ChildrenGeneration = _generation;
                parent.ChildrenGeneration = _generation;
                _domains.Charge(created.Owner, Accounted.Nodes, 1);
                NodeCount++;
                Journal?.NodeWritten(childPath, created.Value, created.Perms);
            }
            else
            {
                tx!.AddDelta(created.Owner, 1);
            }
            parent = created;
            parentPath = childPath;
            start = end + 1;
        }
        if (live)
        {
            QueueEvent(path, created.Perms, parentPerms: tree.Get(XsPath.Parent(path))?.Perms);
        }
        return created;
    }

    private void ApplySetValue(TreeView view, string path, byte[] value)
    {
        Node node = view.Tree.GetMutable(path);
        node.SetValue(value);
        if (view.IsLive)
        {
            node.Generation = ++_generation;
            JournalNode(path, node);
            QueueEvent(path, node.Perms, parentPerms: view.Tree.Get(XsPath.Parent(path))?.Perms);
        }
    }

    private void ApplySetPerms(TreeView view, string path, XsPermission[] perms)
    {
        Node node = view.Tree.GetMutable(path);
        XsPermission[] old = node.Perms;
        node.Perms = perms;
        // The root is charged to nobody (it is not counted when created either).
        if (old[0].Domid != perms[0].Domid && path != "/")
        {
            if (view.Transaction is { } tx)
            {
                tx.AddDelta(old[0].Domid, -1);
                tx.AddDelta(perms[0].Domid, 1);
            }
            else
            {
                ChargeNodes(old[0].Domid, -1);
                ChargeNodes(perms[0].Domid, 1);
            }
        }
        if (view.IsLive)
        {
            node.Generation = ++_generation;
            JournalNode(path, node);
            QueueEvent(path, perms, parentPerms: view.Tree.Get(XsPath.Parent(path))?.Perms, oldPerms: old);
        }
    }

    /// <summary>
    /// Removes a subtree. Events: removed descendants (exact watches only) in C's order, each child's subtree
    /// before the child itself, children in list order; then the node.
    /// </summary>
    private void ApplyRemove(TreeView view, string path)
    {
        string parentPath = XsPath.Parent(path);
        Node parent = view.Tree.GetMutable(parentPath);
        Node node = parent.Children.Find(XsPath.LastComponent(path))!;
        // A pre-order walk that visits children last-first, reversed, is the post-order walk C's recursion makes.
        var removed = new List<(string Path, Node Node, XsPermission[] ParentPerms)>();
        var stack = new Stack<(string, Node, XsPermission[])>();
        foreach (Node child in node.Children.Items)
        {
            stack.Push((path + "/" + child.Name, child, node.Perms));
        }
        while (stack.Count > 0)
        {
            (string currentPath, Node current, XsPermission[] parentPerms) = stack.Pop();
            removed.Add((currentPath, current, parentPerms));
            foreach (Node child in current.Children.Items)
            {
                stack.Push((currentPath + "/" + child.Name, child, current.Perms));
            }
        }
        removed.Reverse();
        parent.MutableChildren().Remove(node.Name);
        if (view.Transaction is { } tx)
        {
            tx.AddDelta(node.Owner, -1);
            foreach ((_, Node gone, _) in removed)
            {
                tx.AddDelta(gone.Owner, -1);
            }
            return;
        }
        parent.ChildrenGeneration = ++_generation;
        Journal?.NodeRemoved(path);
        ChargeNodes(node.Owner, -1);
        NodeCount -= 1 + removed.Count;
        foreach ((string removedPath, Node gone, XsPermission[] goneParentPerms) in removed)
        {
            ChargeNodes(gone.Owner, -1);
            QueueEvent(removedPath, gone.Perms, goneParentPerms, exactOnly: true);
        }
        QueueEvent(path, node.Perms, parent.Perms);
    }

    private void ChargeNodes(uint owner, int change) => _domains.Charge(owner, Accounted.Nodes, change);
}
