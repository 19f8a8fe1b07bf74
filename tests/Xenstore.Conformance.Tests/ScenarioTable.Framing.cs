using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> Framing()
    {
        yield return new("server-only and unknown message types are ENOSYS", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(WatchEvent, "$B\0t\0");
            await a.Req(Error, "EINVAL\0");
            await a.Req(Restrict, "0\0");
            await a.Req((XsMessageType)27, "\0");
            await a.Req((XsMessageType)999, "\0");
            await a.Req(Invalid, "\0");
            await a.Req(Read, "/tool\0");
        }, Golden);

        yield return new("zero-length payloads are answered at once", async s =>
        {
            var a = await s.OpenAsync();
            // C 4.17 answers an empty READ/DIRECTORY with the errno the previous request left: make it a known one.
            await a.Req(Read, "$B/missing\0");
            await a.Req(Read, "");
            await a.Req(Write, "");
            await a.Req(XsMessageType.Directory, "");
            await a.Req(TransactionStart, "");
            await a.Req(ResetWatches, "");
            await a.Req(XsMessageType.Control, "");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.17 answers a malformed single-argument payload with whatever errno the previous request left (XSA-481); 4.22 always says EINVAL",
        };

        yield return new("payload over 4096 closes only that connection", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await b.Req(Watch, "$B\0b\0");
            var frame = new byte[XsConstants.HeaderSize + 4097];
            new XsHeader(Write, 1, 0, 4097).Write(frame);
            s.Bytes("$B/big\0").CopyTo(frame, XsConstants.HeaderSize);
            await a.SendRaw(frame, "WRITE header with len 4097 and its payload");
            await a.Closed();
            await b.Req(Read, "$B/big\0");
            await b.Req(Write, "$B/after\0v");
        }, Golden);

        yield return new("an oversized frame closes the connection at once, unanswered requests before it too", async s =>
        {
            var a = await s.OpenAsync();
            byte[] read = s.Bytes("/\0");
            var frames = new byte[2 * XsConstants.HeaderSize + read.Length + 4097];
            new XsHeader(Read, 1, 0, (uint)read.Length).Write(frames);
            read.CopyTo(frames, XsConstants.HeaderSize);
            new XsHeader(Write, 2, 0, 4097).Write(frames.AsSpan(XsConstants.HeaderSize + read.Length));
            await a.SendRaw(frames, "READ / and a WRITE header with len 4097, in one write");
            await a.Reply(Read, 1);
            await a.Closed();
        }, Golden);

        yield return new("length 0xffffffff closes the connection", async s =>
        {
            var a = await s.OpenAsync();
            var header = new byte[XsConstants.HeaderSize];
            new XsHeader(Read, 1, 0, uint.MaxValue).Write(header);
            await a.SendRaw(header, "READ header with len 0xffffffff");
            await a.Closed();
        }, Golden);

        yield return new("payload of exactly 4096 is accepted", async s =>
        {
            var a = await s.OpenAsync();
            string path = s.Expand("$B/max\0");
            string value = new('v', 4096 - path.Length);
            await a.ReqBytes(Write, s.Bytes(path + value), shownAs: "\"$B/max\\0v{…}\" (4096 bytes)");
            await a.Req(Rm, "$B/max\0");
        }, Golden);

        yield return new("a request split across writes is reassembled", async s =>
        {
            var a = await s.OpenAsync();
            byte[] payload = s.Bytes("$B/split\0v");
            var frame = new byte[XsConstants.HeaderSize + payload.Length];
            FrameParser.Write(frame, Write, 5, 0, payload);
            await a.SendRaw(frame[..7], "first 7 bytes of a WRITE");
            await a.SendRaw(frame[7..20], "next 13 bytes");
            await a.SendRaw(frame[20..], "the rest");
            await a.Reply(Write, 5);
            await a.Req(Read, "$B/split\0");
        }, Golden);

        yield return new("reply over 4096 is E2BIG; DIRECTORY_PART pages it", async s =>
        {
            var a = await s.OpenAsync();
            // 40 children with 120-character names: a 4840-byte list.
            for (int i = 0; i < 40; i++)
            {
                string child = $"{i:d3}" + new string('c', 117);
                await a.Raw.WriteAsync(s.Expand($"$B/{child}"), "");
            }
            s.Note("40 children of 120 characters written");
            await a.Req(XsMessageType.Directory, "$B\0");
            var first = await a.Raw.RequestAsync(DirectoryPart, s.Bytes("$B\00\0"));
            var names = new List<string>();
            string generation = first.Strings[0];
            int offset = 0;
            RawMessage_Collect(first, names, ref offset, out bool done);
            int chunks = 1;
            while (!done && chunks < 10)
            {
                var next = await a.Raw.RequestAsync(DirectoryPart, s.Bytes($"$B\0{offset}\0"));
                s.Note($"chunk {chunks + 1}: same generation {next.Strings[0] == generation}");
                RawMessage_Collect(next, names, ref offset, out done);
                chunks++;
            }
            s.Note($"DIRECTORY_PART: {chunks} chunks, {names.Count} names, in creation order {names.SequenceEqual(Enumerable.Range(0, 40).Select(i => $"{i:d3}" + new string('c', 117)))}");
            var beyond = await a.Raw.RequestAsync(DirectoryPart, s.Bytes("$B\0100000\0"));
            s.Note($"offset beyond the end: {Transcript.Quote(beyond.Payload.AsSpan(beyond.Payload.AsSpan().IndexOf((byte)0) + 1))} after the generation");
            await a.Req(DirectoryPart, "$B\0");
            await a.Req(DirectoryPart, "$B/missing\00\0");
        }, Golden);
    }

    /// <summary>Appends the names of one DIRECTORY_PART chunk (<c>gen\0name\0…[\0]</c>) and advances the offset.</summary>
    private static void RawMessage_Collect(Xenstore.TestKit.RawMessage chunk, List<string> names, ref int offset, out bool done)
    {
        byte[] p = chunk.Payload;
        int start = Array.IndexOf(p, (byte)0) + 1;
        done = false;
        while (start < p.Length)
        {
            int nul = Array.IndexOf(p, (byte)0, start);
            if (nul == start)
            {
                // The empty string marks the end of the list.
                done = true;
                break;
            }
            names.Add(System.Text.Encoding.Latin1.GetString(p, start, nul - start));
            offset += nul - start + 1;
            start = nul + 1;
        }
    }
}
