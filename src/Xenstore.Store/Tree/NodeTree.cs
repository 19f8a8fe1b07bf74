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

    // The parent remembered by Get, valid while _version is what it was then: every change of the tree's shape
    // (a child added, removed or copied, the root copied) takes its parent through GetMutable, which moves _version;
    // the paths remembered are forgotten whenever the node at some path becomes another object or goes: a node
    // copied by GetMutable, a child removed (RemoveChild). A child added, or a value or permissions changed in place,
    // keeps them: every node remembered is still the one at its path, and is read as it is now.
    private char[] _lastParentPath = new char[64];
    private int _lastParentPathLength;
    private Node? _lastParent;
    private long _lastParentVersion;
    private long _version;

    // Made on first use: only the live tree's read-only requests use it, never a transaction's tree.
    private PathCache? _paths;

    /// <summary>Epoch stamped on the copies and new nodes this tree makes.</summary>
    public int Epoch { get; set; }

    /// <summary>Nodes of this epoch or older may be shared with a snapshot and must be copied before a change.</summary>
    public int FrozenUpTo { get; set; }

    public Node? Get(string path) => Get(path.AsSpan());

    /// <summary>
    /// The node at a canonical absolute path, or null; the path may be any span (no string needed). The parent of
    /// the last path looked up is remembered until the tree next changes: requests in a row tend to name siblings
    /// (a device's keys, a pipelining client's nodes), whose lookup then costs one comparison of the parent's path
    /// and one child lookup instead of a step per component.
    /// </summary>
    public Node? Get(ReadOnlySpan<char> path)
    {
        if (path is "/")
        {
            return Root;
        }
        int lastSlash = XsPath.LastSlash(path);
        if (lastSlash > 0 && _lastParent is not null && _lastParentVersion == _version
            && path[..lastSlash].SequenceEqual(_lastParentPath.AsSpan(0, _lastParentPathLength)))
        {
            return _lastParent.Children.Find(path[(lastSlash + 1)..]);
        }
        Node node = Root;
        ReadOnlySpan<char> rest = path[1..];
        while (true)
        {
            int slash = NextSlash(rest);
            ReadOnlySpan<char> name = slash < 0 ? rest : rest[..slash];
            if (slash < 0)
            {
                RememberParent(path[..lastSlash], node);
                return node.Children.Find(name);
            }
            Node? child = node.Children.Find(name);
            if (child is null)
            {
                return null;
            }
            node = child;
            rest = rest[(slash + 1)..];
        }
    }

    /// <summary>
    /// The node at a valid absolute path, given as a request's bytes, when that path was looked up (and given to
    /// <see cref="RememberPath"/>) and the node there is still the same object; null otherwise, whether or not the
    /// node exists.
    /// </summary>
    public Node? FindRemembered(ReadOnlySpan<byte> path, out int relativeLength)
    {
        if (_paths is null)
        {
            relativeLength = 0;
            return null;
        }
        return _paths.Find(path, out relativeLength);
    }

    /// <summary>
    /// Remembers the node found at a valid absolute path (the request's bytes) until a node is copied or removed.
    /// </summary>
    public void RememberPath(ReadOnlySpan<byte> path, Node node, int relativeLength) =>
        (_paths ??= new PathCache()).Remember(path, node, relativeLength);

    private void RememberParent(ReadOnlySpan<char> parentPath, Node parent)
    {
        if (parentPath.Length == 0)
        {
            // The root's children: nothing to save.
            return;
        }
        if (parentPath.Length > _lastParentPath.Length)
        {
            _lastParentPath = new char[Math.Max(parentPath.Length, 2 * _lastParentPath.Length)];
        }
        parentPath.CopyTo(_lastParentPath);
        _lastParentPathLength = parentPath.Length;
        _lastParent = parent;
        _lastParentVersion = _version;
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
        _version++;
        parent = null;
        if (Root.Epoch <= FrozenUpTo)
        {
            Root = Root.CopyFor(Epoch);
            _paths?.Clear();
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
                _paths?.Clear();
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

    /// <summary>Removes a child (with its subtree) from a parent obtained from <see cref="GetMutable(string)"/>.</summary>
    public void RemoveChild(Node mutableParent, string name)
    {
        _version++;
        _paths?.Clear();
        mutableParent.MutableChildren().Remove(name);
    }

    /// <summary>Adds a new child under a parent obtained from <see cref="GetMutable(string)"/>.</summary>
    public Node AddChild(Node mutableParent, string name, byte[] value, XsPermission[] perms)
    {
        _version++;
        // The paths remembered stay: each names a node that exists, and the new child is none of them.
        var child = new Node(name, value, perms, Epoch);
        mutableParent.MutableChildren().Add(child);
        return child;
    }
}
