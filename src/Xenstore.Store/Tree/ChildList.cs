using System.Numerics;

namespace Xenstore.Store.Tree;

/// <summary>
/// The children of a node in insertion order (DIRECTORY lists them in that order, as C xenstored does).
/// Up to <see cref="LinearLimit"/> children: a plain array scanned linearly. Up to <see cref="SmallLimit"/>: the
/// same array plus a hash index of positions (open addressing, two bytes a slot, at most two thirds full), so a lookup
/// reads one or two slots and compares one name rather than taking the unpredictable steps of a binary search.
/// Names are hashed with the process's randomised string hash, as in <see cref="ChunkedChildren"/>, so a guest
/// cannot choose names that collide; and a list this small bounds any probe sequence anyway. Past that the list becomes
/// a chunked structure that copies in O(chunks touched) rather than O(children): a transaction that adds one domain
/// under <c>/local/domain</c> must not copy the other thousands of entries, and neither must the live tree when it
/// commits while other transactions still share the old list (see <see cref="ChunkedChildren"/>).
/// </summary>
internal sealed class ChildList
{
    /// <summary>Most children found by a linear scan.</summary>
    public const int LinearLimit = 16;

    /// <summary>Most children kept as a plain array.</summary>
    public const int SmallLimit = 256;

    private Node[] _items;
    private int _count;

    /// <summary>
    /// Hash slots, each empty (0) or a position in <see cref="_items"/> plus one; a power of two at least one and
    /// a half times the items' capacity (<see cref="IndexSize"/>). Null while the list is scanned linearly.
    /// </summary>
    private ushort[]? _index;
    private ChunkedChildren? _chunked;

    public ChildList(int capacity = 2)
    {
        _items = new Node[capacity];
    }

    private ChildList(Node[] items, int count, ushort[]? index, ChunkedChildren? chunked, int nameBytes)
    {
        _items = items;
        _count = count;
        _index = index;
        _chunked = chunked;
        NameBytes = nameBytes;
    }

    public int Count => _chunked?.Count ?? _count;

    /// <summary>
    /// The size of the whole listing: every name with its terminating NUL. A DIRECTORY too big for one reply is
    /// known from this alone, as C knows it from its stored child buffer, without touching a single name.
    /// </summary>
    public int NameBytes { get; private set; }

    /// <summary>Global generation of the last change to this set of children (DIRECTORY_PART's generation).</summary>
    public long Generation { get; set; }

    /// <summary>
    /// The whole listing as bytes (names with their NULs, <see cref="NameBytes"/> long) for lists too large for one
    /// reply, which are read in parts; null for smaller lists, which are not worth the copy.
    /// </summary>
    public byte[]? PartListing => _chunked?.Listing(NameBytes);

    /// <summary>The children in insertion order. The span stays valid until the next change to this list.</summary>
    public ReadOnlySpan<Node> Items => _chunked is not null ? _chunked.Ordered() : _items.AsSpan(0, _count);

    public Node? Find(ReadOnlySpan<char> name)
    {
        if (_chunked is not null)
        {
            return _chunked.Find(name);
        }
        int index = IndexOf(name);
        return index < 0 ? null : _items[index];
    }

    public void Add(Node child)
    {
        NameBytes += child.Name.Length + 1;
        if (_chunked is not null)
        {
            _chunked.Add(child);
            return;
        }
        if (_count == SmallLimit)
        {
            _chunked = new ChunkedChildren(Items);
            _items = [];
            _index = null;
            _count = 0;
            _chunked.Add(child);
            return;
        }
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, Math.Min(SmallLimit, Math.Max(4, _items.Length + (_items.Length >> 1))));
        }
        _items[_count++] = child;
        if (_index is not null && _index.Length >= IndexSize(_items.Length))
        {
            Insert(_index, _count - 1);
        }
        else if (_index is not null || _count > LinearLimit)
        {
            // The first index, or one for a grown array (which keeps it at most two thirds full).
            RebuildIndex();
        }
    }

    /// <summary>A new index of every position, sized for the items' capacity.</summary>
    private void RebuildIndex()
    {
        var index = new ushort[IndexSize(_items.Length)];
        for (int i = 0; i < _count; i++)
        {
            Insert(index, i);
        }
        _index = index;
    }

    /// <summary>
    /// Slots for an array of <paramref name="capacity"/> children: short probe sequences, and two bytes a slot
    /// keep a list of a hundred children within a few hundred bytes more than the array itself.
    /// </summary>
    private static int IndexSize(int capacity) => (int)BitOperations.RoundUpToPowerOf2((uint)(capacity + (capacity >> 1)));

    /// <summary>Puts position <paramref name="position"/> (already in <see cref="_items"/>) into an index.</summary>
    private void Insert(ushort[] index, int position)
    {
        int mask = index.Length - 1;
        int slot = string.GetHashCode(_items[position].Name) & mask;
        while (index[slot] != 0)
        {
            slot = (slot + 1) & mask;
        }
        index[slot] = (ushort)(position + 1);
    }

    /// <summary>Puts <paramref name="replacement"/> where the child of the same name was (copy-on-write).</summary>
    public void Replace(Node replacement)
    {
        if (_chunked is not null)
        {
            _chunked.Replace(replacement);
            return;
        }
        _items[IndexOf(replacement.Name)] = replacement;
    }

    public bool Remove(string name)
    {
        if (_chunked is not null)
        {
            if (!_chunked.Remove(name))
            {
                return false;
            }
            NameBytes -= name.Length + 1;
            return true;
        }
        int i = IndexOf(name);
        if (i < 0)
        {
            return false;
        }
        NameBytes -= name.Length + 1;
        Array.Copy(_items, i + 1, _items, i, _count - i - 1);
        _count--;
        _items[_count] = null!;
        if (_index is not null)
        {
            // The positions after the removed one moved down: the index is rebuilt (as cheap as moving them).
            RebuildIndex();
        }
        return true;
    }

    /// <summary>An independent copy: changes to either side are not seen by the other.</summary>
    public ChildList Clone()
    {
        if (_chunked is not null)
        {
            return new ChildList([], 0, null, _chunked.Share(), NameBytes) { Generation = Generation };
        }
        var items = new Node[Math.Max(2, _count)];
        Array.Copy(_items, items, _count);
        // The positions are the same in the copy, so is the index (it depends on nothing else).
        return new ChildList(items, _count, (ushort[]?)_index?.Clone(), null, NameBytes) { Generation = Generation };
    }

    private int IndexOf(ReadOnlySpan<char> name)
    {
        if (_index is null)
        {
            // Length and first character before the whole name: a miss costs two loads, not a call.
            int length = name.Length;
            char first = length > 0 ? name[0] : '\0';
            for (int i = 0; i < _count; i++)
            {
                string candidate = _items[i].Name;
                if (candidate.Length == length && (length == 0 || candidate[0] == first) && name.SequenceEqual(candidate))
                {
                    return i;
                }
            }
            return -1;
        }
        ushort[] index = _index;
        int mask = index.Length - 1;
        int slot = string.GetHashCode(name) & mask;
        while (true)
        {
            int entry = index[slot];
            if (entry == 0)
            {
                return -1;
            }
            if (name.SequenceEqual(_items[entry - 1].Name))
            {
                return entry - 1;
            }
            slot = (slot + 1) & mask;
        }
    }
}
