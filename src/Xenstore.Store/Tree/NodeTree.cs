using Xenstore.Protocol;

namespace Xenstore.Store.Tree;

/// <summary>
/// A tree of nodes with copy-on-write sharing. The live tree and every transaction each have one; a transaction's
/// tree starts as the live root at TRANSACTION_START (its snapshot) and copies only the paths it changes.
/// A node may be changed in place when its epoch is above <see cref="FrozenUpTo"/>: no snapshot can see it.
/// </summary>
internal sealed class NodeTree
{
    public NodeTree(Node root, int epoch, int frozenUpTo)
    {
        Root = root;
        Epoch = epoch;
        FrozenUpTo = frozenUpTo;
    }

    public Node Root { get; private set; }

    /// <summary>Epoch stamped on the copies and new nodes this tree makes.</summary>
    public int Epoch { get; set; }

    /// <summary>Nodes of this epoch or older may be shared with a snapshot and must be copied before a change.</summary>
    public int FrozenUpTo { get; set; }

    public Node? Get(string path) => Get(path.AsSpan());

    /// <summary>The node at a canonical absolute path, or null; the path may be any span (no string needed).</summary>
    public Node? Get(ReadOnlySpan<char> path)
    {
        Node node = Root;
        if (path is "/")
        {
            return node;
        }
        ReadOnlySpan<char> rest = path[1..];
        while (true)
        {
            int slash = NextSlash(rest);
            ReadOnlySpan<char> name = slash < 0 ? rest : rest[..slash];
            Node? child = node.Children.Find(name);
            if (child is null)
            {
                return null;
            }
            if (slash < 0)
            {
                return child;
            }
            node = child;
            rest = rest[(slash + 1)..];
        }
    }

    /// <summary>
    /// The first <c>/</c> in a path's rest, or -1: a plain scan, since a component is a few characters and the
    /// vectorised search costs more to set up than such a scan takes.
    /// </summary>
    private static int NextSlash(ReadOnlySpan<char> rest)
    {
        for (int i = 0; i < rest.Length; i++)
        {
            if (rest[i] == '/')
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The nearest existing node at or above <paramref name="path"/>, and its path.</summary>
    public (Node Node, string Path) NearestExisting(string path)
    {
        string current = path;
        while (true)
        {
            Node? node = Get(current);
            if (node is not null)
            {
                return (node, current);
            }
            current = XsPath.Parent(current);
        }
    }

    /// <summary>
    /// Returns a node at <paramref name="path"/> that may be changed in place, copying it and its ancestors when a
    /// snapshot shares them. The path must exist.
    /// </summary>
    public Node GetMutable(string path) => GetMutable(path, out _);

    /// <summary><see cref="GetMutable(string)"/>, also giving the node's (mutable) parent; null for the root.</summary>
    public Node GetMutable(string path, out Node? parent)
    {
        parent = null;
        if (Root.Epoch <= FrozenUpTo)
        {
            Root = Root.CopyFor(Epoch);
        }
        Node node = Root;
        if (path == "/")
        {
            return node;
        }
        ReadOnlySpan<char> rest = path.AsSpan(1);
        while (true)
        {
            int slash = rest.IndexOf('/');
            ReadOnlySpan<char> name = slash < 0 ? rest : rest[..slash];
            Node child = node.Children.Find(name) ?? throw new InvalidOperationException("missing node " + path);
            if (child.Epoch <= FrozenUpTo)
            {
                child = child.CopyFor(Epoch);
                node.MutableChildren().Replace(child);
            }
            if (slash < 0)
            {
                parent = node;
                return child;
            }
            node = child;
            rest = rest[(slash + 1)..];
        }
    }

    /// <summary>Adds a new child under a parent obtained from <see cref="GetMutable(string)"/>.</summary>
    public Node AddChild(Node mutableParent, string name, byte[] value, XsPermission[] perms)
    {
        var child = new Node(name, value, perms, Epoch);
        mutableParent.MutableChildren().Add(child);
        return child;
    }
}
