using System.Buffers.Binary;

namespace Xenstore.Protocol;

/// <summary>
/// The 16-byte message header (<c>struct xsd_sockmsg</c>). The wire uses host byte order; every Xen platform in
/// use is little-endian, so we read and write little-endian explicitly.
/// </summary>
/// <param name="Type">The message type.</param>
/// <param name="ReqId">Chosen by the client and echoed in the reply.</param>
/// <param name="TxId">0, or the transaction the request belongs to.</param>
/// <param name="Length">Payload length in bytes.</param>
public readonly record struct XsHeader(XsMessageType Type, uint ReqId, uint TxId, uint Length)
{
    /// <summary>Reads a header from the first 16 bytes of <paramref name="source"/>.</summary>
    public static XsHeader Read(ReadOnlySpan<byte> source) => new(
        (XsMessageType)BinaryPrimitives.ReadUInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[12..]));

    /// <summary>Writes this header into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)Type);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], ReqId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], TxId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Length);
    }
}
