using Xenstore.Protocol;
using Xenstore.Store.Persistence;
using Xenstore.Store.Tests.Persistence;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Tests.Tree;

/// <summary>What the tree edits report, and what the live tree and the journal make of it.</summary>
public sealed class ChangeFeedTests
{
    private static readonly XsPermission[] s_dom0 = [new(XsAccess.None, 0)];
    private static readonly XsPermission[] s_dom5 = [new(XsAccess.None, 5)];

    private readonly LiveTree _live = new();
    private readonly Recorder _recorded = new();

    private static string Describe(NodeChange change) => $"{change.Kind} {change.Path} {change.Reach}";

    [Fact]
    public void CreatePath_ReportsEachLevel_OnlyTheRequestedNodeReachesWatches()
    {
        TreeEdits.CreatePath(_live.Nodes, _live.Names, "/a/b/c", "v"u8.ToArray(), creator: 0, creatorPrivileged: true, _recorded);
        Assert.Equal(["Created /a None", "Created /a/b None", "Created /a/b/c PathAndAncestors"], _recorded.Changes.Select(Describe));
        Assert.Equal("b", _recorded.Changes[2].Parent!.Name);
        Assert.Equal("v"u8.ToArray(), _recorded.Changes[2].Node.Value.ToArray());
    }

    [Fact]
    public void Remove_ReportsDescendantsInCsOrder_ThenTheNode()
    {
        var quiet = new Recorder();
        foreach (string path in new[] { "/r/a/x", "/r/a/y", "/r/b" })
        {
            TreeEdits.CreatePath(_live.Nodes, _live.Names, path, [], 0, true, quiet);
        }
        TreeEdits.Remove(_live.Nodes, "/r", _recorded);
        Assert.Equal(
            ["Removed /r/a/x Exact", "Removed /r/a/y Exact", "Removed /r/a Exact", "Removed /r/b Exact", "Removed /r PathAndAncestors"],
            _recorded.Changes.Select(Describe));
        Assert.True(_recorded.Changes[0].IsRemovedDescendant);
        Assert.Equal("a", _recorded.Changes[0].Parent!.Name);
        Assert.Null(_live.Nodes.Get("/r"));
    }

    [Fact]
    public void SetPerms_CarriesTheOldPermissions_AndTheRootHasNoParent()
    {
        TreeEdits.SetPerms(_live.Nodes, "/", s_dom5, _recorded);
        NodeChange change = Assert.Single(_recorded.Changes);
        Assert.Equal(ChangeKind.PermsSet, change.Kind);
        Assert.Equal(s_dom0, change.OldPerms);
        Assert.Null(change.Parent);
    }

    [Fact]
    public void LiveTree_StampsGenerations_AndCountsNodes()
    {
        TreeEdits.CreatePath(_live.Nodes, _live.Names, "/a/b", [], 0, true, _live);
        Assert.Equal(3, _live.NodeCount);
        Assert.Equal(2, _live.Generation);
        Node a = _live.Nodes.Get("/a")!;
        Assert.Equal(1, a.Generation);
        Assert.Equal(2, a.ChildrenGeneration);

        TreeEdits.SetValue(_live.Nodes, "/a/b", "x"u8.ToArray(), _live);
        Assert.Equal(3, _live.Nodes.Get("/a/b")!.Generation);

        TreeEdits.Remove(_live.Nodes, "/a", _live);
        Assert.Equal(1, _live.NodeCount);
        Assert.Equal(4, _live.Root.ChildrenGeneration);
    }

    [Fact]
    public void JournalSink_RecordsAbsoluteStates_AndOneRemovalPerSubtree()
    {
        var journal = new RecordingJournal();
        var sink = new JournalSink { Journal = journal };
        TreeEdits.CreatePath(_live.Nodes, _live.Names, "/a/b", "v"u8.ToArray(), 5, false, sink);
        TreeEdits.SetPerms(_live.Nodes, "/a", s_dom5, sink);
        TreeEdits.Remove(_live.Nodes, "/a", sink);
        Assert.Equal(["write /a", "write /a/b v", "write /a", "remove /a"], journal.Records);
    }

    [Fact]
    public void ChangeFeed_HandsEachChangeToEveryObserverInOrder()
    {
        var order = new List<string>();
        var feed = new ChangeFeed(new Named("first", order), new Named("second", order));
        TreeEdits.SetValue(_live.Nodes, "/", [], feed);
        Assert.Equal(["first /", "second /"], order);
    }

    private sealed class Recorder : INodeChangeSink
    {
        public List<NodeChange> Changes { get; } = [];

        public void OnChange(in NodeChange change) => Changes.Add(change);
    }

    private sealed class Named(string name, List<string> order) : INodeChangeSink
    {
        public void OnChange(in NodeChange change) => order.Add(name + " " + change.Path);
    }
}
