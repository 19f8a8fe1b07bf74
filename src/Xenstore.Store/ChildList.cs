namespace Xenstore.Store;

/// <summary>
/// The children of a node in insertion order (DIRECTORY lists them in that order, as C xenstored does).
/// Small lists are scanned linearly; a name index is added once a directory grows, so a 10k-child directory
/// stays O(1) per lookup without paying for a dictionary on every leaf.
/// </summary>
internal sealed class ChildList
{
    private const int IndexThreshold = 12;

    private Node[] _items;
    private int _count;
    private Dictionary<string, Node>? _index;

    public ChildList(int capacity = 2)
    {
        _items = new Node[capacity];
    }

    public int Count => _count;

    public ReadOnlySpan<Node> Items => _items.AsSpan(0, _count);

    public Node? Find(ReadOnlySpan<char> name)
    {
        if (_index is not null)
        {
            return _index.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out Node? found) ? found : null;
        }
        for (int i = 0; i < _count; i++)
        {
            if (name.SequenceEqual(_items[i].Name))
            {
                return _items[i];
            }
        }
        return null;
    }

    public void Add(Node child)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, Math.Max(4, _items.Length * 2));
        }
        _items[_count++] = child;
        if (_index is not null)
        {
            _index[child.Name] = child;
        }
        else if (_count > IndexThreshold)
        {
            _index = new Dictionary<string, Node>(_count * 2, StringComparer.Ordinal);
            for (int i = 0; i < _count; i++)
            {
                _index[_items[i].Name] = _items[i];
            }
        }
    }

    /// <summary>Puts <paramref name="replacement"/> where the child of the same name was (copy-on-write).</summary>
    public void Replace(Node replacement)
    {
        int i = IndexOf(replacement.Name);
        _items[i] = replacement;
        if (_index is not null)
        {
            _index[replacement.Name] = replacement;
        }
    }

    public bool Remove(string name)
    {
        int i = IndexOf(name);
        if (i < 0)
        {
            return false;
        }
        Array.Copy(_items, i + 1, _items, i, _count - i - 1);
        _count--;
        _items[_count] = null!;
        _index?.Remove(name);
        return true;
    }

    public ChildList Clone()
    {
        var copy = new ChildList(Math.Max(2, _count));
        Array.Copy(_items, copy._items, _count);
        copy._count = _count;
        if (_index is not null)
        {
            copy._index = new Dictionary<string, Node>(_index, StringComparer.Ordinal);
        }
        return copy;
    }

    private int IndexOf(string name)
    {
        for (int i = 0; i < _count; i++)
        {
            if (string.Equals(_items[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }
}
