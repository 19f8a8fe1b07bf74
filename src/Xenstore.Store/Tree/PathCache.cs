using System.Buffers.Binary;
using System.Numerics;

namespace Xenstore.Store.Tree;

/// <summary>
/// The nodes of absolute paths read-only requests looked up in the live tree, by the path's bytes as the request
/// carried them: a hit skips the path's validation, its conversion to characters and the walk (C xenstored finds a node by
/// its whole path in one hash lookup too). Two-way set-associative: a path may sit in one of the two slots of its
/// set, and a path whose set is full replaces the one remembered longer ago, so a lookup is one hash and at most two
/// comparisons, whatever paths a guest chooses: paths made to share a set only miss, and take the ordinary way.
/// The tree clears it whenever the node at some path becomes another object or goes: a node copied for a snapshot's
/// sake, a child removed (<see cref="Clear"/>, which costs only the slots filled since the last one). A child added,
/// or a value or permissions changed in place, keep it: every node remembered is still the one at its path (only
/// nodes found are remembered, so none names the new child). A cleared cache holds no node, so nothing removed from
/// the tree is kept alive by it.
/// </summary>
internal sealed class PathCache
{
    /// <summary>Slots (a power of two): sets of two.</summary>
    public const int Slots = 512;

    /// <summary>Longest path remembered, in bytes: longer ones take the ordinary way.</summary>
    public const int MaxPathBytes = 96;

    private readonly Entry[] _entries = new Entry[Slots];
    private readonly int[] _filled = new int[Slots];
    private int _filledCount;
    private long _stamp;

    /// <summary>The node remembered for <paramref name="path"/>, or null.</summary>
    public Node? Find(ReadOnlySpan<byte> path, out int relativeLength)
    {
        int set = SetOf(path);
        for (int slot = set; slot < set + 2; slot++)
        {
            ref Entry entry = ref _entries[slot];
            if (entry.Node is not null && path.SequenceEqual(entry.Path.AsSpan(0, entry.Length)))
            {
                relativeLength = entry.RelativeLength;
                return entry.Node;
            }
        }
        relativeLength = 0;
        return null;
    }

    /// <summary>
    /// Remembers the node at a valid absolute path, with the length that path quotas measure
    /// (<see cref="Protocol.XsPath.RelativeLength(ReadOnlySpan{char})"/>).
    /// </summary>
    public void Remember(ReadOnlySpan<byte> path, Node node, int relativeLength)
    {
        if (path.Length > MaxPathBytes)
        {
            return;
        }
        int set = SetOf(path);
        // An empty slot of the set, else the one not written last.
        int slot = _entries[set].Node is null ? set
            : _entries[set + 1].Node is null ? set + 1
            : _entries[set].Stamp < _entries[set + 1].Stamp ? set : set + 1;
        ref Entry entry = ref _entries[slot];
        if (entry.Node is null)
        {
            _filled[_filledCount++] = slot;
        }
        entry.Path ??= new byte[MaxPathBytes];
        path.CopyTo(entry.Path);
        entry.Length = path.Length;
        entry.Node = node;
        entry.RelativeLength = relativeLength;
        entry.Stamp = ++_stamp;
    }

    /// <summary>Forgets every node (the node at some path became another object); the path buffers stay for reuse.</summary>
    public void Clear()
    {
        for (int i = 0; i < _filledCount; i++)
        {
            _entries[_filled[i]].Node = null;
        }
        _filledCount = 0;
    }

    /// <summary>
    /// The first slot of the path's set. A multiplicative hash of the path's eight-byte words: a 64-bit multiply per
    /// word (XxHash3 needs 128-bit products, which the native build's baseline instruction set computes in
    /// software). Not keyed: paths a guest finds sharing a set only make lookups in that set miss and take the
    /// ordinary way, which is what every lookup cost before; nothing else depends on the spread.
    /// </summary>
    private static int SetOf(ReadOnlySpan<byte> path)
    {
        const ulong Multiplier = 0x9E3779B97F4A7C15;
        ulong hash = (ulong)path.Length * Multiplier;
        while (path.Length >= sizeof(ulong))
        {
            hash = BitOperations.RotateLeft((hash ^ BinaryPrimitives.ReadUInt64LittleEndian(path)) * Multiplier, 29);
            path = path[sizeof(ulong)..];
        }
        ulong tail = 0;
        for (int i = 0; i < path.Length; i++)
        {
            tail |= (ulong)path[i] << (8 * i);
        }
        hash = (hash ^ tail) * Multiplier;
        return (int)(hash >> 40) & (Slots - 2);
    }

    private struct Entry
    {
        public byte[]? Path;
        public int Length;
        public Node? Node;
        public int RelativeLength;
        public long Stamp;
    }
}
