using System.Buffers.Binary;
using System.IO.Hashing;

namespace Xenstore.Server.Persistence;

/// <summary>
/// Layout shared by the snapshot and the journal, modelled on Xen's migration stream: an 8-byte ident
/// <c>"xenstore"</c>, a version and flags (bit 0 = big-endian, never set), then a sequence number; then records of
/// <c>type u32, length u32, crc32 u32, reserved u32, body, padding to 8 bytes</c>. The CRC covers the type, the
/// length and the body, so a torn or corrupted record is recognised and everything from it on is discarded.
/// </summary>
internal static class StateFileFormat
{
    public const int HeaderSize = 24;
    public const int RecordHeaderSize = 16;
    public const uint Version = 1;

    /// <summary>The largest body a record may claim (a node carries at most a path, a value and its perms).</summary>
    public const int MaxBodySize = 1 << 20;

    public static ReadOnlySpan<byte> Ident => "xenstore"u8;

    /// <summary>
    /// CRC-32 (IEEE 802.3, as zlib): one per thread, because the store thread encodes the journal while a background
    /// snapshot is encoded on the thread pool, and a record's checksum is computed over two separate spans.
    /// </summary>
    [ThreadStatic]
    private static Crc32? s_crc;

    public static void WriteHeader(Span<byte> destination, ulong sequence)
    {
        Ident.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], sequence);
    }

    public static bool TryReadHeader(ReadOnlySpan<byte> source, out ulong sequence)
    {
        sequence = 0;
        if (source.Length < HeaderSize || !source[..8].SequenceEqual(Ident)
            || BinaryPrimitives.ReadUInt32LittleEndian(source[8..]) != Version
            || BinaryPrimitives.ReadUInt32LittleEndian(source[12..]) != 0)
        {
            return false;
        }
        sequence = BinaryPrimitives.ReadUInt64LittleEndian(source[16..]);
        return true;
    }

    public static int Padded(int length) => (length + 7) & ~7;

    public static uint Checksum(StateRecordType type, ReadOnlySpan<byte> body)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(head, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], (uint)body.Length);
        Crc32 crc = s_crc ??= new Crc32();
        crc.Append(head);
        crc.Append(body);
        uint checksum = crc.GetCurrentHashAsUInt32();
        crc.Reset();
        return checksum;
    }
}
