using Xenstore.Protocol;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Requests;

/// <summary>Either the live tree or a transaction's tree, with the transaction that records accesses.</summary>
internal readonly record struct TreeView(NodeTree Tree, Transaction? Transaction)
{
    public bool IsLive => Transaction is null;

    /// <summary>
    /// Looks a node up and, in a transaction, records the access (ENOSPC past the transaction-nodes quota).
    /// </summary>
    public XsError GetAndRecord(string path, out Node? node)
    {
        node = Tree.Get(path);
        return Transaction?.TryRecord(path, node) ?? XsError.None;
    }
}
