using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Requests;

/// <summary>
/// Changes made by requests and commits, on the tree of the view they run in: the live tree's changes go to the
/// live feed (generations, accounting, journal, watches, in that order), a transaction's only to the transaction.
/// </summary>
internal sealed class TreeWriter(LiveTree live, INodeChangeSink liveFeed)
{
    public TreeView LiveView => new(live.Nodes, null);

    public Node CreatePath(TreeView view, string path, byte[] value, uint creator, bool creatorPrivileged) =>
        TreeEdits.CreatePath(view.Tree, live.Names, path, value, creator, creatorPrivileged, SinkFor(view));

    public void SetValue(TreeView view, string path, byte[] value) => TreeEdits.SetValue(view.Tree, path, value, SinkFor(view));

    public void SetPerms(TreeView view, string path, XsPermission[] perms) => TreeEdits.SetPerms(view.Tree, path, perms, SinkFor(view));

    public void Remove(TreeView view, string path) => TreeEdits.Remove(view.Tree, path, SinkFor(view));

    private INodeChangeSink SinkFor(TreeView view) => view.Transaction is { } transaction ? transaction : liveFeed;
}
