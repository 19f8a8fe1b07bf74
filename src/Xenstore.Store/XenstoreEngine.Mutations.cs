using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store;

/// <summary>
/// Changes made by requests and commits, on the tree of the view they run in: the live tree's changes go to the
/// live feed (generations, accounting, journal, watches, in that order), a transaction's only to the transaction.
/// </summary>
public sealed partial class XenstoreEngine
{
    private INodeChangeSink SinkFor(TreeView view) => view.Transaction is { } transaction ? transaction : _liveFeed;

    private TreeView LiveView => new(_live, null);

    private Node ApplyCreatePath(TreeView view, string path, byte[] value, uint creator, bool creatorPrivileged) =>
        TreeEdits.CreatePath(view.Tree, _liveTree.Names, path, value, creator, creatorPrivileged, SinkFor(view));

    private void ApplySetValue(TreeView view, string path, byte[] value) => TreeEdits.SetValue(view.Tree, path, value, SinkFor(view));

    private void ApplySetPerms(TreeView view, string path, XsPermission[] perms) => TreeEdits.SetPerms(view.Tree, path, perms, SinkFor(view));

    private void ApplyRemove(TreeView view, string path) => TreeEdits.Remove(view.Tree, path, SinkFor(view));
}
