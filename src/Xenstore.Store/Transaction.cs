namespace Xenstore.Store;

/// <summary>
/// An open transaction: a copy-on-write tree started from the live root (its snapshot), what it accessed (to
/// validate at commit) and what it changed (to apply at commit, in order).
/// </summary>
internal sealed class Transaction(uint id, Connection owner, NodeTree tree, int snapshotEpoch, int nodeLimit)
{
    /// <summary>The most distinct nodes the transaction may access (transaction-nodes quota); 0 = unlimited.</summary>
    public int NodeLimit { get; } = nodeLimit;

    public uint Id { get; } = id;

    public Connection Owner { get; } = owner;

    public NodeTree Tree { get; } = tree;

    /// <summary>The live epoch the snapshot was taken at; released when the transaction ends.</summary>
    public int SnapshotEpoch { get; } = snapshotEpoch;

    public Dictionary<string, TransactionAccess> Accessed { get; } = new(StringComparer.Ordinal);

    public List<TransactionEffect> Effects { get; } = [];

    /// <summary>Nodes created minus nodes removed, per owner, for quota checks inside the transaction.</summary>
    public Dictionary<uint, int> NodeDelta { get; } = [];

    /// <summary>
    /// Remembers the state of a node in the snapshot the first time the transaction touches it. Every request
    /// records a node before changing it, and transaction trees never change generation fields, so a node seen
    /// here still carries its snapshot generations. Both generations are kept now: a later listing must compare
    /// against the snapshot's child list, not against a copy the transaction re-created meanwhile.
    /// </summary>
    public void Record(string path, Node? node)
    {
        if (!Accessed.ContainsKey(path))
        {
            if (NodeLimit > 0 && Accessed.Count >= NodeLimit)
            {
                // Thrown before any change is made: every request records what it touches before it changes it.
                throw new TransactionNodesExceededException();
            }
            Accessed[path] = node is null
                ? new TransactionAccess(false, 0, false, 0)
                : new TransactionAccess(true, node.Generation, false, node.ChildrenGeneration);
        }
    }

    /// <summary>Remembers that the transaction listed a directory: its child list must not change until commit.</summary>
    public void RecordListing(string path, Node node)
    {
        Record(path, node);
        Accessed[path] = Accessed[path] with { Listed = true };
    }

    public int DeltaFor(uint owner) => NodeDelta.GetValueOrDefault(owner);

    public void AddDelta(uint owner, int change) => NodeDelta[owner] = DeltaFor(owner) + change;
}

/// <summary>The snapshot state of one accessed node.</summary>
internal readonly record struct TransactionAccess(bool Existed, long Generation, bool Listed, long ChildrenGeneration);

/// <summary>One change made inside a transaction, replayed on the live tree at commit.</summary>
internal abstract record TransactionEffect(string Path);

internal sealed record WriteEffect(string Path, byte[] Value) : TransactionEffect(Path);

internal sealed record MkdirEffect(string Path) : TransactionEffect(Path);

internal sealed record RemoveEffect(string Path) : TransactionEffect(Path);

internal sealed record SetPermsEffect(string Path, Protocol.XsPermission[] Perms) : TransactionEffect(Path);

/// <summary>A request would make its transaction access more nodes than the transaction-nodes quota allows.</summary>
internal sealed class TransactionNodesExceededException : Exception
{
    public TransactionNodesExceededException()
        : base("transaction-nodes quota exceeded")
    {
    }

    public TransactionNodesExceededException(string message)
        : base(message)
    {
    }

    public TransactionNodesExceededException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
