using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>
/// One node with many children: the create rate (pipelined WRITEs), then the whole listing through
/// DIRECTORY_PART (C xenstored and ours; oxenstored answers ENOSYS, reported as such).
/// </summary>
internal static class BigDirectoryWorkload
{
    private const string Parent = "/bench/big";

    public static void Run(WorkloadContext ctx)
    {
        int children = ctx.Options.Children;
        using XsConnection c = ctx.Connect();
        Ops.Write(c, Parent, "");
        double cpu0 = ctx.Probe.CpuSeconds();
        long start = Stopwatch.GetTimestamp();
        Ops.Pipelined(c, children, ctx.Options.Window,
            i => c.Enqueue(XsMessageType.Write, 0, Ops.WritePayload(ChildPath(i), "1")),
            (XsConnection conn, long i, uint reqId, in Frame frame) => Replies.Expect(conn, frame, XsMessageType.Write, reqId, Replies.Ok));
        long end = Stopwatch.GetTimestamp();
        double cpu1 = ctx.Probe.CpuSeconds();
        double seconds = Ops.Seconds(start, end);
        ctx.Result["children"] = children;
        ctx.Result["creates_per_second"] = children / seconds;
        ctx.RecordCpu("create_", cpu0, cpu1, children, seconds);

        if (CheckListing(ctx, c, children))
        {
            TimeListings(ctx, c);
        }
        TooBig(ctx, c);
    }

    /// <summary>
    /// Plain DIRECTORY of the big node, one at a time: every reply must be E2BIG (the listing is over 4 KiB). Enough
    /// requests that the daemon's CPU time, read in 10 ms ticks, resolves a few microseconds per request.
    /// </summary>
    private static void TooBig(WorkloadContext ctx, XsConnection c)
    {
        const int Requests = 10_000;
        byte[] request = Ops.Z(Parent);
        double cpu0 = ctx.Probe.CpuSeconds();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Requests; i++)
        {
            string? error = Ops.TryCall(c, XsMessageType.Directory, 0, request, out _);
            if (error != "E2BIG")
            {
                throw new ProtocolException($"DIRECTORY of {Parent}: {error ?? "a listing"}, expected E2BIG");
            }
        }
        double seconds = Ops.Seconds(start, Stopwatch.GetTimestamp());
        ctx.Result["e2big_us"] = seconds * 1e6 / Requests;
        ctx.Result["e2big_daemon_cpu_us"] = (ctx.Probe.CpuSeconds() - cpu0) * 1e6 / Requests;
    }

    private static string ChildPath(long i) => $"{Parent}/child-{i}";

    /// <summary>
    /// DIRECTORY_PART from offset 0 until the list ends, as libxenstore's xs_directory does after E2BIG, every name
    /// and the generation checked; false when the daemon does not have the request.
    /// </summary>
    private static bool CheckListing(WorkloadContext ctx, XsConnection c, int children)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        string? generation = null;
        int offset = 0;
        int requests = 0;
        while (true)
        {
            string? error = Ops.TryCall(c, XsMessageType.DirectoryPart, 0, Encoding.ASCII.GetBytes($"{Parent}\0{offset}\0"), out byte[] reply);
            requests++;
            if (error == "ENOSYS")
            {
                ctx.Result["listing"] = "ENOSYS";
                return false;
            }
            if (error is not null)
            {
                throw new ProtocolException($"DIRECTORY_PART {Parent} {offset}: {error}");
            }
            int nul = Array.IndexOf(reply, (byte)0);
            if (nul < 0)
            {
                throw new ProtocolException("DIRECTORY_PART: no generation");
            }
            string gen = Encoding.ASCII.GetString(reply, 0, nul);
            if (generation is not null && gen != generation)
            {
                throw new ProtocolException("DIRECTORY_PART: generation changed while nothing was written");
            }
            generation = gen;
            ReadOnlySpan<byte> rest = reply.AsSpan(nul + 1);
            bool ended = false;
            while (!rest.IsEmpty)
            {
                int end = rest.IndexOf((byte)0);
                if (end < 0)
                {
                    throw new ProtocolException("DIRECTORY_PART: unterminated name");
                }
                if (end == 0)
                {
                    ended = true;
                    break;
                }
                if (!names.Add(Encoding.ASCII.GetString(rest[..end])))
                {
                    throw new ProtocolException("DIRECTORY_PART: a child listed twice");
                }
                offset += end + 1;
                rest = rest[(end + 1)..];
            }
            if (ended)
            {
                break;
            }
            if (requests > children + 2)
            {
                throw new ProtocolException("DIRECTORY_PART: the listing does not end");
            }
        }
        if (names.Count != children)
        {
            throw new ProtocolException($"DIRECTORY_PART listed {names.Count} children, wrote {children}");
        }
        for (int i = 0; i < children; i++)
        {
            if (!names.Contains(ChildPath(i)[(Parent.Length + 1)..]))
            {
                throw new ProtocolException($"DIRECTORY_PART is missing child-{i.ToString(CultureInfo.InvariantCulture)}");
            }
        }
        ctx.Result["listing"] = "ok";
        ctx.Result["listing_requests"] = requests;
        return true;
    }

    /// <summary>
    /// The whole listing again, <see cref="TimedListings"/> times, once it is known to be right: the generator only
    /// follows the offsets (no names decoded or compared), so that the figure is the daemon's and the round trips',
    /// not the checking's, and the daemon's CPU time per listing is resolved by its 10 ms ticks.
    /// </summary>
    private static void TimeListings(WorkloadContext ctx, XsConnection c)
    {
        const int TimedListings = 200;
        byte[] parent = Encoding.ASCII.GetBytes(Parent);
        byte[] payload = new byte[parent.Length + 12];
        parent.CopyTo(payload, 0);
        double cpu0 = ctx.Probe.CpuSeconds();
        long start = Stopwatch.GetTimestamp();
        for (int listing = 0; listing < TimedListings; listing++)
        {
            int offset = 0;
            while (true)
            {
                int length = parent.Length + 1;
                payload[parent.Length] = 0;
                length += Encoding.ASCII.GetBytes(offset.ToString(CultureInfo.InvariantCulture), payload.AsSpan(length));
                payload[length++] = 0;
                string? error = Ops.TryCall(c, XsMessageType.DirectoryPart, 0, payload.AsSpan(0, length), out byte[] reply);
                if (error is not null)
                {
                    throw new ProtocolException($"DIRECTORY_PART {Parent} {offset}: {error}");
                }
                // After the generation, names up to an empty one (the end) or the end of this part.
                ReadOnlySpan<byte> names = reply.AsSpan(reply.AsSpan().IndexOf((byte)0) + 1);
                if (names.IndexOf("\0\0"u8) >= 0 || names.SequenceEqual("\0"u8))
                {
                    break;
                }
                offset += names.Length;
            }
        }
        double seconds = Ops.Seconds(start, Stopwatch.GetTimestamp());
        ctx.Result["listing_ms"] = seconds * 1000 / TimedListings;
        ctx.Result["listing_daemon_cpu_ms"] = (ctx.Probe.CpuSeconds() - cpu0) * 1000 / TimedListings;
    }
}
