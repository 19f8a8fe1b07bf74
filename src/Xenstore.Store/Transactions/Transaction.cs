using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Transactions;

/// <summary>
/// An open transaction: a copy-on-write tree started from the live root (its snapshot), what it accessed (to
/// validate at commit) and what it changed (to apply at commit, in order). It observes its own tree's changes
/// only to keep the node quota delta: generations, journal and watches belong to the commit on the live tree.
/// </summary>
internal sealed class Transaction(uint id, Connection owner, NodeTree tree, int snapshotEpoch, int nodeLimit) : INodeChangeSink
{
    /// <summary>The most distinct nodes the transaction may access (transaction-nodes quota); 0 = unlimited.</summary>
    public int NodeLimit { get; } = nodeLimit;

    public uint Id { get; } = id;

    public Connection Owner { get; } = owner;

    public NodeTree Tree { get; } = tree;

    /// <summary>The live epoch the snapshot was taken at; released when the transaction ends.</summary>
    public int SnapshotEpoch { get; } = snapshotEpoch;

    /// <summary>A request was refused for <see cref="NodeLimit"/>; the engine reports it and clears this.</summary>
    public bool NodeLimitReached { get; set; }

    public Dictionary<string, TransactionAccess> Accessed { get; } = new(StringComparer.Ordinal);

    public List<TransactionEffect> Effects { get; } = [];

    /// <summary>Bytes of the paths and values this transaction's changes hold until it ends.</summary>
    public long HeldBytes { get; private set; }

    /// <summary>Records a change to replay at commit and counts what it holds.</summary>
    public void AddEffect(TransactionEffect effect)
    {
        Effects.Add(effect);
        HeldBytes += effect.HeldBytes;
    }

    /// <summary>Nodes created minus nodes removed, per owner, for quota checks inside the transaction.</summary>
    public Dictionary<uint, int> NodeDelta { get; } = [];

    /// <summary>
    /// Remembers the state of a node in the snapshot the first time the transaction touches it; ENOSPC when that
    /// would take the transaction past its node limit (nothing is recorded then). Every request records a node
    /// before changing it, so a request refused here has changed nothing; and transaction trees never change
    /// generation fields, so a node seen here still carries its snapshot generations. Both generations are kept
    /// now: a later listing must compare against the snapshot's child list, not against a copy the transaction
    /// re-created meanwhile.
    /// </summary>
    public XsError TryRecord(string path, Node? node)
    {
        if (Accessed.ContainsKey(path))
        {
            return XsError.None;
        }
        if (NodeLimit > 0 && Accessed.Count >= NodeLimit)
        {
            NodeLimitReached = true;
            return XsError.ENOSPC;
        }
        int order = Accessed.Count;
        Accessed[path] = node is null
            ? new TransactionAccess(false, 0, false, 0, order)
            : new TransactionAccess(true, node.Generation, false, node.ChildrenGeneration, order);
        return XsError.None;
    }

    /// <summary>Remembers that the transaction listed a directory: its child list must not change until commit.</summary>
    public XsError TryRecordListing(string path, Node node)
    {
        XsError error = TryRecord(path, node);
        if (error == XsError.None)
        {
            Accessed[path] = Accessed[path] with { Listed = true };
        }
        return error;
    }

    /// <summary>
    /// Where a change to <paramref name="path"/> made at commit goes among the commit's events: C sends them in the
    /// order the transaction first accessed each node (reads included); a node the transaction did not access
    /// itself (a descendant removed with its subtree, an ancestor created on the way) goes with the node of the change
    /// that caused it, <paramref name="causedBy"/>.
    /// </summary>
    public int EventOrder(string path, string causedBy) =>
        Accessed.TryGetValue(path, out TransactionAccess access) ? access.Order
        : Accessed.TryGetValue(causedBy, out TransactionAccess cause) ? cause.Order
        : int.MaxValue;

    public int DeltaFor(uint owner) => NodeDelta.GetValueOrDefault(owner);

    public void AddDelta(uint owner, int change) => NodeDelta[owner] = DeltaFor(owner) + change;

    public void OnChange(in NodeChange change)
    {
        switch (change.Kind)
        {
            case ChangeKind.Created:
                AddDelta(change.Node.Owner, 1);
                break;
            case ChangeKind.Removed:
                AddDelta(change.Node.Owner, -1);
                break;
            case ChangeKind.PermsSet when change.OldPerms![0].Domid != change.Node.Owner && change.Parent is not null:
                AddDelta(change.OldPerms[0].Domid, -1);
                AddDelta(change.Node.Owner, 1);
                break;
        }
    }
}
