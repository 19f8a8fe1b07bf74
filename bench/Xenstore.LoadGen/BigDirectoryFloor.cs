using System.Buffers.Text;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>
/// What the null server knows of the big-directory workload's node: the names written under it, kept as one
/// listing of NUL-terminated names, so that DIRECTORY_PART costs it a copy of the part and nothing else. No path is
/// checked and no tree kept: the rows it produces are the floor of a listing's round trips, not a store's.
/// </summary>
internal sealed class BigDirectoryFloor
{
    private static ReadOnlySpan<byte> Parent => "/bench/big/"u8;

    private static ReadOnlySpan<byte> Node => "/bench/big\0"u8;

    // The generation never changes: the listing is only ever appended to before it is read.
    private static ReadOnlySpan<byte> Generation => "1\0"u8;

    private byte[] _listing = new byte[64 * 1024];
    private int _length;

    /// <summary>A WRITE: answered OK; a child of the big node is appended to the listing.</summary>
    public int Written(Span<byte> destination, XsHeader header, ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul > Parent.Length && payload.StartsWith(Parent))
        {
            ReadOnlySpan<byte> name = payload[Parent.Length..(nul + 1)];
            if (_length + name.Length > _listing.Length)
            {
                Array.Resize(ref _listing, _listing.Length * 2);
            }
            name.CopyTo(_listing.AsSpan(_length));
            _length += name.Length;
        }
        return FrameParser.Write(destination, header.Type, header.ReqId, header.TxId, XsConstants.Ok);
    }

    /// <summary>A DIRECTORY: E2BIG for the big node (its listing is over one reply), OK for any other.</summary>
    public static int Directory(Span<byte> destination, XsHeader header, ReadOnlySpan<byte> payload) =>
        payload.SequenceEqual(Node)
            ? FrameParser.Write(destination, XsMessageType.Error, header.ReqId, header.TxId, "E2BIG\0"u8)
            : FrameParser.Write(destination, header.Type, header.ReqId, header.TxId, XsConstants.Ok);

    /// <summary>
    /// A DIRECTORY_PART (<c>path\0offset\0</c>): the generation, then the whole names from the offset that fit in one
    /// reply, and one more NUL when the listing ends in it.
    /// </summary>
    public int Part(Span<byte> destination, XsHeader header, ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        // A bad offset reads as 0: the workload's requests are well formed, and the server checks nothing.
        int offset = Utf8Parser.TryParse(payload[(nul + 1)..], out int parsed, out _) ? parsed : 0;
        Span<byte> reply = destination[XsConstants.HeaderSize..];
        Generation.CopyTo(reply);
        int length = Generation.Length;
        int start = Math.Clamp(offset, 0, _length);
        int room = XsConstants.PayloadMax - length - 1;
        ReadOnlySpan<byte> rest = _listing.AsSpan(start, _length - start);
        if (rest.Length <= room)
        {
            rest.CopyTo(reply[length..]);
            length += rest.Length;
            reply[length++] = 0;
        }
        else
        {
            ReadOnlySpan<byte> part = rest[..(rest[..room].LastIndexOf((byte)0) + 1)];
            part.CopyTo(reply[length..]);
            length += part.Length;
        }
        new XsHeader(XsMessageType.DirectoryPart, header.ReqId, header.TxId, (uint)length).Write(destination);
        return XsConstants.HeaderSize + length;
    }
}
