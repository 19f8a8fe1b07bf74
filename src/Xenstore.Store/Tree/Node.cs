using System.Runtime.CompilerServices;
using Xenstore.Protocol;

namespace Xenstore.Store.Tree;

/// <summary>
/// One node of the tree. Nodes are shared between the live tree and transaction snapshots; a node may be changed
/// in place only by the tree whose epoch rules say nobody else can see it (see <see cref="NodeTree"/>).
/// </summary>
/// <remarks>
/// Most nodes are leaves with short values (<c>state</c>, ids, flags, MAC addresses), so a node is laid out for
/// them: a value of up to <see cref="InlineCapacity"/> bytes lives inside the node object, with no array of its
/// own, and only a node that ever had children carries a <see cref="ChildList"/> (which holds the children's
/// generation too). A leaf with a value of up to 18 bytes (a MAC address is 17) is one 72-byte object: the 18 bytes
/// fit in what the runtime pads the object to anyway.
/// </remarks>
internal sealed class Node
{
    public const int InlineCapacity = 18;

    private static readonly ChildList s_noChildren = new(0);

    // Null: a leaf whose value is inline. byte[]: a leaf's longer value. ChildList: a directory whose value is
    // inline. DirectoryWithLongValue: both (rare: directories seldom have values, let alone long ones).
    private object? _extra;
    private InlineBytes _inline;
    private ushort _inlineLength;

    public Node(string name, byte[] value, XsPermission[] perms, int epoch)
    {
        Name = name;
        Perms = perms;
        Epoch = epoch;
        SetValue(value);
    }

    private Node(Node source, int epoch)
    {
        Name = source.Name;
        Perms = source.Perms;
        Epoch = epoch;
        Generation = source.Generation;
        _inline = source._inline;
        _inlineLength = source._inlineLength;
        _extra = source._extra switch
        {
            ChildList children => children.Clone(),
            DirectoryWithLongValue both => new DirectoryWithLongValue(both.Children.Clone(), both.Value),
            var other => other,
        };
    }

    public string Name { get; }

    /// <summary>The value; valid until the node's value is changed.</summary>
    public ReadOnlySpan<byte> Value => _extra switch
    {
        byte[] value => value,
        DirectoryWithLongValue both => both.Value,
        _ => ((ReadOnlySpan<byte>)_inline)[.._inlineLength],
    };

    /// <summary>Owner entry first. Treated as immutable: replaced, never edited.</summary>
    public XsPermission[] Perms { get; set; }

    /// <summary>Shared empty list until the first child arrives.</summary>
    public ChildList Children => _extra switch
    {
        ChildList children => children,
        DirectoryWithLongValue both => both.Children,
        _ => s_noChildren,
    };

    /// <summary>Global generation of the last change to this node's existence, value or permissions.</summary>
    public long Generation { get; set; }

    /// <summary>
    /// Global generation of the last change to the set of children (DIRECTORY_PART's generation). A node that never
    /// had a child reports its <see cref="Generation"/>: it changes when anything about the node does, as in C.
    /// </summary>
    public long ChildrenGeneration
    {
        get => ReferenceEquals(Children, s_noChildren) ? Generation : Children.Generation;
        set
        {
            if (!ReferenceEquals(Children, s_noChildren) || value != Generation)
            {
                MutableChildren().Generation = value;
            }
        }
    }

    /// <summary>The epoch of the tree that created this copy; decides whether it may be changed in place.</summary>
    public int Epoch { get; }

    public uint Owner => Perms[0].Domid;

    /// <summary>Replaces the value (the array is kept, not copied, when it does not fit inside the node).</summary>
    public void SetValue(byte[] value)
    {
        ChildList? children = ReferenceEquals(Children, s_noChildren) ? null : Children;
        if (value.Length <= InlineCapacity)
        {
            value.CopyTo((Span<byte>)_inline);
            _inlineLength = (ushort)value.Length;
            _extra = children;
        }
        else
        {
            _inlineLength = 0;
            _extra = children is null ? value : new DirectoryWithLongValue(children, value);
        }
    }

    /// <summary>The child list, created (empty) on the first call: from then on the node is a directory.</summary>
    public ChildList MutableChildren()
    {
        ChildList children = Children;
        if (ReferenceEquals(children, s_noChildren))
        {
            children = new ChildList { Generation = Generation };
            _extra = _extra is byte[] value ? new DirectoryWithLongValue(children, value) : children;
        }
        return children;
    }

    public Node CopyFor(int epoch) => new(this, epoch);

    private sealed record DirectoryWithLongValue(ChildList Children, byte[] Value);

    [InlineArray(InlineCapacity)]
    private struct InlineBytes
    {
        private byte _first;
    }
}
