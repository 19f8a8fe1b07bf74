using Xenstore.Protocol;

namespace Xenstore.Store.Tree;

/// <summary>
/// The live tree with its bookkeeping: generations (stamped on every change it observes, for commit validation and
/// DIRECTORY_PART), the node count, and the epochs that open snapshots (transactions, background snapshots) froze,
/// so that a node a snapshot can see is copied before the live tree changes it. It is the first observer of its
/// own changes, so everyone after it sees the new generations.
/// </summary>
internal sealed class LiveTree : INodeChangeSink
{
    private static readonly XsPermission[] s_rootPerms = [new(XsAccess.None, 0)];

    /// <summary>
    /// Open snapshots by live epoch, with how many users each has. Epochs only grow, so new entries go at the
    /// end and the newest is the last key.
    /// </summary>
    private readonly SortedList<int, int> _snapshots = [];

    private int _epochCounter = 1;

    public LiveTree() => Nodes = new NodeTree(new Node("", [], s_rootPerms, epoch: 1), epoch: 1, frozenUpTo: 0);

    public NodeTree Nodes { get; }

    public Node Root => Nodes.Root;

    /// <summary>Shares the strings of recurring node names, for the live tree and every transaction's.</summary>
    public NameCache Names { get; } = new();

    /// <summary>Generation of the last change.</summary>
    public long Generation { get; private set; }

    /// <summary>Number of nodes, the root included.</summary>
    public int NodeCount { get; private set; } = 1;

    public void OnChange(in NodeChange change)
    {
        switch (change.Kind)
        {
            case ChangeKind.Created:
                change.Node.Generation = ++Generation;
                change.Node.ChildrenGeneration = Generation;
                change.Parent!.ChildrenGeneration = Generation;
                NodeCount++;
                break;
            case ChangeKind.ValueSet:
            case ChangeKind.PermsSet:
                change.Node.Generation = ++Generation;
                break;
            case ChangeKind.Removed:
                NodeCount--;
                if (!change.IsRemovedDescendant)
                {
                    change.Parent!.ChildrenGeneration = ++Generation;
                }
                break;
        }
    }

    /// <summary>
    /// Takes a snapshot of the live root as it is now and returns its epoch. From here on the live tree copies any
    /// node it changes (new epoch), so the snapshot never sees a later change.
    /// </summary>
    public int Freeze()
    {
        int snapshotEpoch = Nodes.Epoch;
        _snapshots[snapshotEpoch] = _snapshots.GetValueOrDefault(snapshotEpoch) + 1;
        Nodes.FrozenUpTo = snapshotEpoch;
        Nodes.Epoch = ++_epochCounter;
        return snapshotEpoch;
    }

    /// <summary>A snapshot taken by <see cref="Freeze"/> is no longer used.</summary>
    public void Release(int snapshotEpoch)
    {
        int remaining = _snapshots[snapshotEpoch] - 1;
        if (remaining == 0)
        {
            _snapshots.Remove(snapshotEpoch);
        }
        else
        {
            _snapshots[snapshotEpoch] = remaining;
        }
        Nodes.FrozenUpTo = _snapshots.Count == 0 ? 0 : _snapshots.Keys[^1];
    }

    /// <summary>
    /// A tree of its own for a transaction: the live root frozen now, copied wherever the transaction changes it.
    /// Release the returned epoch when the transaction ends.
    /// </summary>
    public (NodeTree Tree, int SnapshotEpoch) Branch()
    {
        int snapshotEpoch = Freeze();
        int branchEpoch = ++_epochCounter;
        return (new NodeTree(Nodes.Root, branchEpoch, frozenUpTo: branchEpoch - 1), snapshotEpoch);
    }
}
