using Xenstore.Protocol;

namespace Xenstore.Fuzz.Targets;

/// <summary>
/// The frame parser over a stream delivered in arbitrary chunks, as a socket or ring delivers it. The first byte
/// says how many chunk sizes follow (0-7); the rest is the stream. Splitting must not change what is parsed: the
/// frames (and where a too-large header stops the stream) equal those of parsing the whole stream at once, and
/// writing each frame back yields the same bytes.
/// </summary>
public sealed class FrameParserTarget : IFuzzTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        int splits = input[0] & 7;
        if (input.Length < 1 + splits)
        {
            return;
        }
        ReadOnlySpan<byte> sizes = input.Slice(1, splits);
        ReadOnlySpan<byte> stream = input[(1 + splits)..];

        List<(XsHeader Header, int Offset, int Length)> whole = ParseAll(stream, out bool wholeTooLarge, out int wholeConsumed);
        List<(XsHeader Header, int Offset, int Length)> chunked = ParseChunked(stream, sizes, out bool chunkedTooLarge, out int chunkedConsumed);

        FuzzInvariantException.Check(whole.Count == chunked.Count, $"{whole.Count} frames whole, {chunked.Count} chunked");
        FuzzInvariantException.Check(wholeTooLarge == chunkedTooLarge, "too-large verdict depends on the split");
        FuzzInvariantException.Check(wholeConsumed == chunkedConsumed, "consumed bytes depend on the split");
        Span<byte> rewritten = stackalloc byte[XsConstants.HeaderSize + XsConstants.PayloadMax];
        for (int i = 0; i < whole.Count; i++)
        {
            (XsHeader header, int offset, int length) = whole[i];
            FuzzInvariantException.Check(chunked[i] == whole[i], $"frame {i} differs between whole and chunked parsing");
            FuzzInvariantException.Check(length == XsConstants.HeaderSize + (int)header.Length, "frame length is not 16 + payload length");
            FuzzInvariantException.Check(header.Length <= XsConstants.PayloadMax, "accepted a payload over 4096 bytes");
            ReadOnlySpan<byte> frame = stream.Slice(offset, length);
            int written = FrameParser.Write(rewritten, header.Type, header.ReqId, header.TxId, frame[XsConstants.HeaderSize..]);
            FuzzInvariantException.Check(rewritten[..written].SequenceEqual(frame), $"frame {i} does not round-trip through Write");
        }
    }

    private static List<(XsHeader, int, int)> ParseAll(ReadOnlySpan<byte> stream, out bool tooLarge, out int consumed)
    {
        var frames = new List<(XsHeader, int, int)>();
        consumed = 0;
        tooLarge = false;
        while (true)
        {
            FrameStatus status = FrameParser.TryParse(stream[consumed..], out XsHeader header, out int length);
            if (status == FrameStatus.TooLarge)
            {
                tooLarge = true;
                return frames;
            }
            if (status == FrameStatus.NeedMoreData)
            {
                FuzzInvariantException.Check(length == 0, "NeedMoreData with a frame length");
                return frames;
            }
            FuzzInvariantException.Check(length >= XsConstants.HeaderSize && length <= stream.Length - consumed, "frame length outside the buffer");
            frames.Add((header, consumed, length));
            consumed += length;
        }
    }

    /// <summary>A reader loop as a transport has it: append a chunk, take every complete frame, keep the rest.</summary>
    private static List<(XsHeader, int, int)> ParseChunked(ReadOnlySpan<byte> stream, ReadOnlySpan<byte> sizes, out bool tooLarge, out int consumed)
    {
        var frames = new List<(XsHeader, int, int)>();
        var pending = new List<byte>();
        int delivered = 0;
        int chunk = 0;
        consumed = 0;
        tooLarge = false;
        while (delivered < stream.Length)
        {
            int size = chunk < sizes.Length ? sizes[chunk] + 1 : stream.Length - delivered;
            chunk++;
            size = Math.Min(size, stream.Length - delivered);
            foreach (byte b in stream.Slice(delivered, size))
            {
                pending.Add(b);
            }
            delivered += size;
            while (true)
            {
                FrameStatus status = FrameParser.TryParse(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending), out XsHeader header, out int length);
                if (status == FrameStatus.TooLarge)
                {
                    tooLarge = true;
                    return frames;
                }
                if (status == FrameStatus.NeedMoreData)
                {
                    break;
                }
                frames.Add((header, consumed, length));
                consumed += length;
                pending.RemoveRange(0, length);
            }
        }
        return frames;
    }
}
