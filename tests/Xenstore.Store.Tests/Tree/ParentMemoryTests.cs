using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Tests.Tree;

/// <summary>
/// <see cref="NodeTree.Get(ReadOnlySpan{char})"/> remembers the parent of the last path it looked up: every change
/// of the tree's shape must make it look again, or a lookup would answer from a parent that is no longer in the tree.
/// </summary>
public sealed class ParentMemoryTests
{
    private static readonly XsPermission[] s_perms = [new(XsAccess.None, 0)];

    private readonly LiveTree _live = new();

    private NodeTree Tree => _live.Nodes;

    private void Write(string path, string value) =>
        TreeEdits.CreatePath(Tree, _live.Names, path, Encoding.ASCII.GetBytes(value), 0, creatorPrivileged: true, _live);

    private string? Read(string path) => Tree.Get(path) is { } node ? Encoding.ASCII.GetString(node.Value) : null;

    [Fact]
    public void SiblingOfARememberedPath_IsFound()
    {
        Write("/dev/vif/0/state", "1");
        Write("/dev/vif/0/mac", "00:16:3e");
        Assert.Equal("1", Read("/dev/vif/0/state"));
        Assert.Equal("00:16:3e", Read("/dev/vif/0/mac"));
        Assert.Null(Read("/dev/vif/0/missing"));
        Assert.Equal("1", Read("/dev/vif/0/state"));
    }

    [Fact]
    public void RemovedNode_IsNotFoundThroughItsRememberedParent()
    {
        Write("/a/b", "1");
        Assert.Equal("1", Read("/a/b"));
        TreeEdits.Remove(Tree, "/a/b", _live);
        Assert.Null(Read("/a/b"));
    }

    [Fact]
    public void RemovedParent_RecreatedEmpty_DoesNotAnswerForItsOldChildren()
    {
        Write("/p/x", "old");
        Assert.Equal("old", Read("/p/x"));
        // The removed /p keeps its own children: looked up through it, x would still be there.
        TreeEdits.Remove(Tree, "/p", _live);
        Assert.Null(Read("/p/x"));
        Write("/p/y", "new");
        Assert.Null(Read("/p/x"));
        Assert.Equal("new", Read("/p/y"));
    }

    [Fact]
    public void ParentCopiedForASnapshot_IsLookedUpAgain()
    {
        Write("/a/b", "1");
        Assert.Equal("1", Read("/a/b"));
        // A transaction's snapshot shares /a: the next change copies /a, and the remembered /a is now the snapshot's.
        (NodeTree snapshot, int epoch) = _live.Branch();
        TreeEdits.SetValue(Tree, "/a/b", Encoding.ASCII.GetBytes("changed"), _live);
        Assert.Equal("changed", Read("/a/b"));
        Write("/a/c", "2");
        Assert.Equal("2", Read("/a/c"));
        Assert.Equal("1", snapshot.Get("/a/b") is { } old ? Encoding.ASCII.GetString(old.Value) : null);
        Assert.Null(snapshot.Get("/a/c"));
        _live.Release(epoch);
    }

    [Fact]
    public void ParentsOfOneLengthButOtherNames_AreNotConfused()
    {
        Write("/ab/x", "under ab");
        Write("/ac/x", "under ac");
        Assert.Equal("under ab", Read("/ab/x"));
        Assert.Equal("under ac", Read("/ac/x"));
        Assert.Null(Read("/ad/x"));
        Assert.Equal("under ab", Read("/ab/x"));
    }

    [Fact]
    public void LongParentPath_IsRemembered()
    {
        string parent = "/" + string.Join('/', Enumerable.Range(0, 40).Select(i => $"level{i}"));
        Write(parent + "/leaf", "deep");
        Write(parent + "/other", "deep too");
        Assert.Equal("deep", Read(parent + "/leaf"));
        Assert.Equal("deep too", Read(parent + "/other"));
        Assert.Equal("deep", Read(parent + "/leaf"));
    }
}
