using Xenstore.Protocol;

namespace Xenstore.Store;

/// <summary>
/// One node of the tree. Nodes are shared between the live tree and transaction snapshots; a node may be changed
/// in place only by the tree whose epoch rules say nobody else can see it (see <see cref="NodeTree"/>).
/// </summary>
internal sealed class Node
{
    private static readonly ChildList s_noChildren = new(0);

    public Node(string name, byte[] value, XsPermission[] perms, int epoch)
    {
        Name = name;
        Value = value;
        Perms = perms;
        Epoch = epoch;
        Children = s_noChildren;
    }

    public string Name { get; }

    public byte[] Value { get; set; }

    /// <summary>Owner entry first. Treated as immutable: replaced, never edited.</summary>
    public XsPermission[] Perms { get; set; }

    /// <summary>Shared empty list until the first child arrives.</summary>
    public ChildList Children { get; private set; }

    /// <summary>Global generation of the last change to this node's existence, value or permissions.</summary>
    public long Generation { get; set; }

    /// <summary>Global generation of the last change to the set of children (DIRECTORY_PART's generation).</summary>
    public long ChildrenGeneration { get; set; }

    /// <summary>The epoch of the tree that created this copy; decides whether it may be changed in place.</summary>
    public int Epoch { get; }

    public uint Owner => Perms[0].Domid;

    public ChildList MutableChildren()
    {
        if (ReferenceEquals(Children, s_noChildren))
        {
            Children = new ChildList();
        }
        return Children;
    }

    public Node CopyFor(int epoch) => new(Name, Value, Perms, epoch)
    {
        Children = ReferenceEquals(Children, s_noChildren) ? s_noChildren : Children.Clone(),
        Generation = Generation,
        ChildrenGeneration = ChildrenGeneration,
    };
}
