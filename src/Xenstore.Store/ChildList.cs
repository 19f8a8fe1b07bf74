namespace Xenstore.Store;

/// <summary>
/// The children of a node in insertion order (DIRECTORY lists them in that order, as C xenstored does).
/// Small lists are a plain array scanned linearly. Past <see cref="SmallLimit"/> children the list becomes a
/// chunked structure that copies in O(chunks touched) rather than O(children): a transaction that adds one domain
/// under <c>/local/domain</c> must not copy the other thousands of entries, and neither must the live tree when it
/// commits while other transactions still share the old list (see <see cref="ChunkedChildren"/>).
/// </summary>
internal sealed class ChildList
{
    /// <summary>Most children kept as a plain array.</summary>
    public const int SmallLimit = 16;

    private Node[] _items;
    private int _count;
    private ChunkedChildren? _chunked;

    public ChildList(int capacity = 2)
    {
        _items = new Node[capacity];
    }

    private ChildList(Node[] items, int count, ChunkedChildren? chunked)
    {
        _items = items;
        _count = count;
        _chunked = chunked;
    }

    public int Count => _chunked?.Count ?? _count;

    /// <summary>The children in insertion order. The span stays valid until the next change to this list.</summary>
    public ReadOnlySpan<Node> Items => _chunked is not null ? _chunked.Ordered() : _items.AsSpan(0, _count);

    public Node? Find(ReadOnlySpan<char> name)
    {
        if (_chunked is not null)
        {
            return _chunked.Find(name);
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
        if (_chunked is not null)
        {
            _chunked.Add(child);
            return;
        }
        if (_count == SmallLimit)
        {
            _chunked = new ChunkedChildren(Items);
            _items = [];
            _count = 0;
            _chunked.Add(child);
            return;
        }
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, Math.Min(SmallLimit, Math.Max(4, _items.Length * 2)));
        }
        _items[_count++] = child;
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
            return _chunked.Remove(name);
        }
        int i = IndexOf(name);
        if (i < 0)
        {
            return false;
        }
        Array.Copy(_items, i + 1, _items, i, _count - i - 1);
        _count--;
        _items[_count] = null!;
        return true;
    }

    /// <summary>An independent copy: changes to either side are not seen by the other.</summary>
    public ChildList Clone()
    {
        if (_chunked is not null)
        {
            return new ChildList([], 0, _chunked.Share());
        }
        var items = new Node[Math.Max(2, _count)];
        Array.Copy(_items, items, _count);
        return new ChildList(items, _count, null);
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
