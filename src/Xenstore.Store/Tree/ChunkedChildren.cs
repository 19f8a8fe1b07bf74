using System.Numerics;
using System.Text;

namespace Xenstore.Store.Tree;

/// <summary>
/// A large child list that can be copied cheaply and then changed on both sides independently.
/// Two structures over small arrays ("chunks"): an append log of the children (insertion order, removed children
/// leave a hole) and a hash index of their positions in it (name → position: 4 bytes a child, the node itself
/// being read from the log). A copy shares every chunk; each side copies a chunk the first time it changes it, so
/// a change after a copy costs two small arrays (one for a replaced child: the index keeps its position), not the
/// whole list.
/// Ownership is a token: a chunk may be changed in place only by the list whose current token created it, and
/// <see cref="Share"/> gives both sides new tokens. Names are hashed with the process's randomised string hash,
/// so a guest cannot choose names that all land in one bucket; the order of children never depends on it.
/// </summary>
internal sealed class ChunkedChildren
{
    private const int LogChunkShift = 5;
    private const int LogChunkSize = 1 << LogChunkShift;

    /// <summary>Average children per bucket before the index doubles.</summary>
    private const int BucketLoad = 4;

    // The only process-wide mutable in the engine, and harmless: tokens are compared only for equality between a
    // list and the chunks it created, never shown, and handed out with Interlocked so engines on different
    // threads (tests run in parallel) never share one.
    private static int s_lastToken;

    private int _token;

    /// <summary>The top-level arrays this list allocated itself (and may therefore change in place).</summary>
    private int[]? _ownedBucketOwners;
    private int[]? _ownedLogOwners;
    // Each bucket holds positions in the log plus one; 0 ends the bucket's entries.
    private int[]?[] _buckets = [];
    private int[] _bucketOwners = [];
    private Node?[]?[] _log = [];
    private int[] _logOwners = [];
    private int _logLength;
    private int _count;
    private Node[]? _ordered;
    private byte[]? _listing;

    public ChunkedChildren(ReadOnlySpan<Node> children) => Rebuild(children);

    private ChunkedChildren(ChunkedChildren source)
    {
        _token = NewToken();
        _buckets = source._buckets;
        _bucketOwners = source._bucketOwners;
        _log = source._log;
        _logOwners = source._logOwners;
        _logLength = source._logLength;
        _count = source._count;
        _ordered = source._ordered;
        _listing = source._listing;
    }

    public int Count => _count;

    /// <summary>A copy sharing every chunk; from now on neither side changes a shared chunk in place.</summary>
    public ChunkedChildren Share()
    {
        _token = NewToken();
        _ownedBucketOwners = null;
        _ownedLogOwners = null;
        return new ChunkedChildren(this);
    }

    public Node? Find(ReadOnlySpan<char> name)
    {
        int[]? bucket = _buckets[BucketOf(name)];
        if (bucket is null)
        {
            return null;
        }
        foreach (int entry in bucket)
        {
            if (entry == 0)
            {
                break;
            }
            Node child = At(entry - 1);
            if (name.SequenceEqual(child.Name))
            {
                return child;
            }
        }
        return null;
    }

    /// <summary>The child at a position the index holds (never a hole: a removed child leaves the index).</summary>
    private Node At(int position) => _log[position >> LogChunkShift]![position & (LogChunkSize - 1)]!;

    /// <summary>The children in insertion order (built once per change, shared with copies).</summary>
    public Node[] Ordered()
    {
        if (_ordered is null)
        {
            var ordered = new Node[_count];
            int next = 0;
            for (int position = 0; position < _logLength; position++)
            {
                if (_log[position >> LogChunkShift]![position & (LogChunkSize - 1)] is { } node)
                {
                    ordered[next++] = node;
                }
            }
            _ordered = ordered;
        }
        return _ordered;
    }

    /// <summary>
    /// Every name in insertion order, each with its terminating NUL, as DIRECTORY_PART reads it: built on the first
    /// read after a child is added or removed (replacing a child keeps its name, and the listing), shared with copies.
    /// A part is then one copy from an offset, as C serves it from its stored child buffer. The caller knows the
    /// listing's length (<see cref="ChildList.NameBytes"/>).
    /// </summary>
    public byte[] Listing(int length)
    {
        if (_listing is null)
        {
            byte[] listing = new byte[length];
            int next = 0;
            foreach (Node child in Ordered())
            {
                next += Encoding.ASCII.GetBytes(child.Name, listing.AsSpan(next));
                listing[next++] = 0;
            }
            _listing = listing;
        }
        return _listing;
    }

    public void Add(Node child)
    {
        _listing = null;
        int position = _logLength++;
        MutableLogChunk(position >> LogChunkShift)[position & (LogChunkSize - 1)] = child;
        int index = BucketOf(child.Name);
        int[] bucket = MutableBucket(index, extraSlot: true);
        int free = 0;
        while (bucket[free] != 0)
        {
            free++;
        }
        bucket[free] = position + 1;
        _count++;
        _ordered = null;
        if (_count > _buckets.Length * BucketLoad)
        {
            Rebuild(Ordered());
        }
    }

    public void Replace(Node replacement)
    {
        (int index, int slot) = Locate(replacement.Name);
        if (slot < 0)
        {
            throw new InvalidOperationException("no child named " + replacement.Name);
        }
        // The index keeps the position: only the log changes.
        int position = _buckets[index]![slot] - 1;
        MutableLogChunk(position >> LogChunkShift)[position & (LogChunkSize - 1)] = replacement;
        _ordered = null;
    }

    public bool Remove(string name)
    {
        (int index, int slot) = Locate(name);
        if (slot < 0)
        {
            return false;
        }
        int[] bucket = MutableBucket(index, extraSlot: false);
        int position = bucket[slot] - 1;
        int last = slot;
        while (last + 1 < bucket.Length && bucket[last + 1] != 0)
        {
            last++;
        }
        bucket[slot] = bucket[last];
        bucket[last] = 0;
        MutableLogChunk(position >> LogChunkShift)[position & (LogChunkSize - 1)] = null;
        _count--;
        _ordered = null;
        _listing = null;
        // Holes in the log cost memory and listing time: compact once they outnumber the children.
        if (_logLength - _count > Math.Max(LogChunkSize, _count))
        {
            Rebuild(Ordered());
        }
        return true;
    }

    private (int Bucket, int Slot) Locate(string name)
    {
        int index = BucketOf(name);
        int[]? bucket = _buckets[index];
        if (bucket is not null)
        {
            for (int slot = 0; slot < bucket.Length && bucket[slot] != 0; slot++)
            {
                if (string.Equals(At(bucket[slot] - 1).Name, name, StringComparison.Ordinal))
                {
                    return (index, slot);
                }
            }
        }
        return (index, -1);
    }

    private int BucketOf(ReadOnlySpan<char> name) => string.GetHashCode(name) & (_buckets.Length - 1);

    /// <summary>Fresh chunks owned by a new token, the index sized for the children, the log without holes.</summary>
    private void Rebuild(ReadOnlySpan<Node> children)
    {
        _token = NewToken();
        int bucketCount = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, children.Length / 2));
        _buckets = new int[]?[bucketCount];
        _bucketOwners = new int[bucketCount];
        _ownedBucketOwners = _bucketOwners;
        int logChunks = Math.Max(2, (children.Length >> LogChunkShift) + 2);
        _log = new Node?[]?[logChunks];
        _logOwners = new int[logChunks];
        _ownedLogOwners = _logOwners;
        _logLength = 0;
        _count = 0;
        _ordered = null;
        foreach (Node child in children)
        {
            Add(child);
        }
    }

    /// <summary>The bucket, copied first if another list may see it; with room for one more entry if asked.</summary>
    private int[] MutableBucket(int index, bool extraSlot)
    {
        if (!ReferenceEquals(_bucketOwners, _ownedBucketOwners))
        {
            _buckets = (int[]?[])_buckets.Clone();
            _bucketOwners = (int[])_bucketOwners.Clone();
            _ownedBucketOwners = _bucketOwners;
        }
        int[]? bucket = _buckets[index];
        bool grow = extraSlot && (bucket is null || bucket[^1] != 0);
        if (bucket is not null && _bucketOwners[index] == _token && !grow)
        {
            return bucket;
        }
        int length = bucket?.Length ?? 0;
        var copy = new int[grow ? Math.Max(2, length * 2) : length];
        bucket?.CopyTo(copy, 0);
        _buckets[index] = copy;
        _bucketOwners[index] = _token;
        return copy;
    }

    /// <summary>The log chunk, copied first if another list may see it; the log grows as needed.</summary>
    private Node?[] MutableLogChunk(int index)
    {
        if (!ReferenceEquals(_logOwners, _ownedLogOwners) || index >= _log.Length)
        {
            int length = index >= _log.Length ? Math.Max(index + 1, _log.Length * 2) : _log.Length;
            var log = new Node?[]?[length];
            Array.Copy(_log, log, _log.Length);
            var owners = new int[length];
            Array.Copy(_logOwners, owners, _logOwners.Length);
            _log = log;
            _logOwners = owners;
            _ownedLogOwners = owners;
        }
        Node?[]? chunk = _log[index];
        if (chunk is not null && _logOwners[index] == _token)
        {
            return chunk;
        }
        var copy = new Node?[LogChunkSize];
        chunk?.CopyTo(copy, 0);
        _log[index] = copy;
        _logOwners[index] = _token;
        return copy;
    }

    private static int NewToken() => Interlocked.Increment(ref s_lastToken);
}
