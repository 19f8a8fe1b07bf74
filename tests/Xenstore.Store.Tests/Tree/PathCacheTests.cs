using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Tests.Tree;

/// <summary>
/// The live tree remembers the nodes of absolute paths its read-only requests looked up: every change that makes the
/// node at some path another object or removes it (a copy, a child removed) must forget them all, or a READ would
/// answer from a node that is no longer the one at its path.
/// </summary>
public sealed class PathCacheTests
{
    private static readonly XsPermission[] s_perms = [new(XsAccess.None, 0)];

    private readonly LiveTree _live = new();

    private NodeTree Tree => _live.Nodes;

    private void Write(string path, string value) =>
        TreeEdits.CreatePath(Tree, _live.Names, path, Encoding.ASCII.GetBytes(value), 0, creatorPrivileged: true, _live);

    /// <summary>Looks a path up as a read-only request does: remembered, else walked and then remembered.</summary>
    private Node? LookUp(string path)
    {
        byte[] raw = Encoding.ASCII.GetBytes(path);
        if (Tree.FindRemembered(raw, out _) is { } remembered)
        {
            return remembered;
        }
        Node? node = Tree.Get(path);
        if (node is not null)
        {
            Tree.RememberPath(raw, node, path.Length);
        }
        return node;
    }

    private Node? Remembered(string path) => Tree.FindRemembered(Encoding.ASCII.GetBytes(path), out _);

    [Fact]
    public void APathLookedUp_IsRememberedWithItsLength()
    {
        Write("/a/b", "1");
        Node found = LookUp("/a/b")!;
        Assert.Same(found, Tree.FindRemembered("/a/b"u8, out int relativeLength));
        Assert.Equal(4, relativeLength);
        Assert.Null(Remembered("/a"));
        Assert.Null(Remembered("/a/b/"));
    }

    [Fact]
    public void AChildRemoved_ForgetsEveryPath_AChildAdded_KeepsThem()
    {
        Write("/a/b", "1");
        Write("/c", "2");
        void RememberBoth()
        {
            LookUp("/a/b");
            LookUp("/c");
            Assert.NotNull(Remembered("/a/b"));
            Assert.NotNull(Remembered("/c"));
        }

        RememberBoth();
        Write("/a/d/e", "new nodes");
        Assert.Same(Tree.Get("/a/b"), Remembered("/a/b"));
        Assert.Same(Tree.Get("/c"), Remembered("/c"));
        Assert.Equal("e", LookUp("/a/d/e")!.Name);

        RememberBoth();
        TreeEdits.Remove(Tree, "/a/d", _live);
        Assert.Null(Remembered("/c"));
        Assert.Null(Remembered("/a/d/e"));
        Assert.Null(LookUp("/a/d/e"));

        RememberBoth();
        TreeEdits.Remove(Tree, "/a", _live);
        Assert.Null(Remembered("/a/b"));
        Assert.Null(LookUp("/a/b"));
    }

    [Fact]
    public void AValueOrPermissionsChangedInPlace_KeepTheNodeRemembered()
    {
        Write("/a/b", "1");
        Node node = LookUp("/a/b")!;
        TreeEdits.SetValue(Tree, "/a/b", "2"u8.ToArray(), _live);
        TreeEdits.SetPerms(Tree, "/a/b", s_perms, _live);
        Assert.Same(node, Remembered("/a/b"));
        Assert.Same(Tree.Get("/a/b"), node);
        Assert.Equal("2", Encoding.ASCII.GetString(node.Value));
        Assert.Equal(s_perms, node.Perms);
    }

    [Fact]
    public void ANodeCopiedForASnapshot_ForgetsEveryPath()
    {
        Write("/a/b", "old");
        Write("/c", "2");
        Assert.Equal("old", Encoding.ASCII.GetString(LookUp("/a/b")!.Value));
        LookUp("/c");
        // A snapshot shares /a/b, so the change copies it: the node at the path is another object now.
        (NodeTree snapshot, int epoch) = _live.Branch();
        TreeEdits.SetValue(Tree, "/a/b", "new"u8.ToArray(), _live);
        Assert.Null(Remembered("/a/b"));
        Assert.Null(Remembered("/c"));
        Assert.Equal("new", Encoding.ASCII.GetString(LookUp("/a/b")!.Value));
        Assert.Equal("old", Encoding.ASCII.GetString(snapshot.Get("/a/b")!.Value));
        // The root is the tree's own by now: changing /c copies /c alone, and that too forgets every path.
        Node sharedC = LookUp("/c")!;
        TreeEdits.SetValue(Tree, "/c", "3"u8.ToArray(), _live);
        Assert.Null(Remembered("/c"));
        Assert.NotSame(sharedC, LookUp("/c"));
        Assert.Equal("2", Encoding.ASCII.GetString(sharedC.Value));
        _live.Release(epoch);
    }

    [Fact]
    public void APathLongerThanTheLimit_IsNotRemembered()
    {
        string longPath = "/" + new string('x', PathCache.MaxPathBytes);
        Write(longPath, "1");
        Assert.NotNull(LookUp(longPath));
        Assert.Null(Remembered(longPath));
    }

    [Fact]
    public void ManyPaths_EachFoundOrMissed_NeverAnother()
    {
        // More paths than slots: sets overflow and evict, and a lookup still finds only its own path's node.
        int count = PathCache.Slots * 2;
        for (int i = 0; i < count; i++)
        {
            Write($"/many/k{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < count; i++)
            {
                Node node = LookUp($"/many/k{i}")!;
                Assert.Equal($"k{i}", node.Name);
            }
        }
        int remembered = Enumerable.Range(0, count).Count(i => Remembered($"/many/k{i}") is { } node && node.Name == $"k{i}");
        Assert.InRange(remembered, PathCache.Slots / 2, PathCache.Slots);
        Assert.All(Enumerable.Range(0, count), i =>
        {
            Node? node = Remembered($"/many/k{i}");
            Assert.True(node is null || node.Name == $"k{i}");
        });
    }
}
