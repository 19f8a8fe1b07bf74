namespace Xenstore.Store.Tree;

/// <summary>
/// The children of a node in insertion order (DIRECTORY lists them in that order, as C xenstored does).
/// Up to <see cref="LinearLimit"/> children: a plain array scanned linearly. Up to <see cref="SmallLimit"/>: the
/// same array plus the positions sorted by name (two bytes a child) for binary search. Past that the list becomes
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

    /// <summary>Positions in <see cref="_items"/> ordered by name; null while the list is scanned linearly.</summary>
    private ushort[]? _sorted;
    private ChunkedChildren? _chunked;

    public ChildList(int capacity = 2)
    {
        _items = new Node[capacity];
    }

    private ChildList(Node[] items, int count, ushort[]? sorted, ChunkedChildren? chunked, int nameBytes)
    {
        _items = items;
        _count = count;
        _sorted = sorted;
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
    public byte[]? PartListing => _chunked?.Listing();

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
            _sorted = null;
            _count = 0;
            _chunked.Add(child);
            return;
        }
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, Math.Min(SmallLimit, Math.Max(4, _items.Length + (_items.Length >> 1))));
        }
        _items[_count++] = child;
        if (_sorted is not null)
        {
            InsertSorted(_count - 1);
        }
        else if (_count > LinearLimit)
        {
            _sorted = new ushort[_items.Length];
            for (int i = 0; i < _count; i++)
            {
                InsertSorted(i);
            }
        }
    }

    /// <summary>Puts position <paramref name="index"/> (already in <see cref="_items"/>) into the sorted order.</summary>
    private void InsertSorted(int index)
    {
        if (_sorted!.Length < _items.Length)
        {
            Array.Resize(ref _sorted, _items.Length);
        }
        // Positions 0..index-1 are sorted already; binary search among them for where this one goes.
        int low = 0;
        int high = index - 1;
        ReadOnlySpan<char> name = _items[index].Name;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            if (name.SequenceCompareTo(_items[_sorted[mid]].Name) > 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }
        Array.Copy(_sorted, low, _sorted, low + 1, index - low);
        _sorted[low] = (ushort)index;
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
        if (_sorted is not null)
        {
            // Drop the removed position and renumber the ones after it, keeping the name order.
            int kept = 0;
            for (int s = 0; s <= _count; s++)
            {
                int position = _sorted[s];
                if (position != i)
                {
                    _sorted[kept++] = (ushort)(position > i ? position - 1 : position);
                }
            }
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
        ushort[]? sorted = null;
        if (_sorted is not null)
        {
            sorted = new ushort[items.Length];
            Array.Copy(_sorted, sorted, _count);
        }
        return new ChildList(items, _count, sorted, null, NameBytes) { Generation = Generation };
    }

    private int IndexOf(ReadOnlySpan<char> name)
    {
        if (_sorted is null)
        {
            for (int i = 0; i < _count; i++)
            {
                if (name.SequenceEqual(_items[i].Name))
                {
                    return i;
                }
            }
            return -1;
        }
        int low = 0;
        int high = _count - 1;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            int position = _sorted[mid];
            int order = name.SequenceCompareTo(_items[position].Name);
            if (order == 0)
            {
                return position;
            }
            if (order > 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }
        return -1;
    }
}
