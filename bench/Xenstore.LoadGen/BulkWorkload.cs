using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>
/// Loads N leaves with pipelined WRITEs (<c>/bulk/aA/bB/nL</c>, 100 leaves per directory), then walks the whole
/// subtree as xenstore-ls does (DIRECTORY and READ of every node, pipelined), checking every listing and value.
/// </summary>
internal static class BulkWorkload
{
    private const int LeavesPerDirectory = 100;
    private const int DirectoriesPerGroup = 100;

    private static string LeafPath(long n) =>
        $"/bulk/a{n / (LeavesPerDirectory * DirectoriesPerGroup)}/b{n / LeavesPerDirectory % DirectoriesPerGroup}/n{n % LeavesPerDirectory}";

    private static string LeafValue(long n) => $"value-{n}";

    public static void Run(WorkloadContext ctx)
    {
        int nodes = ctx.Options.Nodes;
        int window = ctx.Options.Window;
        using XsConnection c = ctx.Connect();
        Ops.Write(c, "/bulk", "");
        long rss0 = ctx.Probe.RssBytes();
        double cpu0 = ctx.Probe.CpuSeconds();
        long start = Stopwatch.GetTimestamp();
        // A daemon whose writes slow down as the store grows may not finish in the time allowed: then the figures
        // are those of the nodes it did load, and the result says so.
        long loaded = Ops.Pipelined(c, nodes, window,
            i => c.Enqueue(XsMessageType.Write, 0, Ops.WritePayload(LeafPath(i), LeafValue(i))),
            (XsConnection conn, long i, uint reqId, in Frame frame) => Replies.Expect(conn, frame, XsMessageType.Write, reqId, Replies.Ok),
            Ops.Deadline(ctx.Options.PhaseLimit));
        long end = Stopwatch.GetTimestamp();
        double cpu1 = ctx.Probe.CpuSeconds();
        long rss1 = ctx.Probe.RssBytes();
        double seconds = Ops.Seconds(start, end);
        ctx.Result["nodes"] = nodes;
        ctx.Result["nodes_loaded"] = loaded;
        ctx.Result["load_complete"] = loaded == nodes;
        ctx.Result["writes_per_second"] = loaded / seconds;
        ctx.Result["daemon_rss_before_bytes"] = rss0;
        ctx.Result["daemon_rss_after_bytes"] = rss1;
        ctx.Result["daemon_rss_bytes_per_node"] = rss0 > 0 ? (rss1 - rss0) / (double)loaded : double.NaN;
        ctx.RecordCpu("write_", cpu0, cpu1, loaded, seconds);

        Walk(ctx, c, loaded, window);
    }

    /// <summary>Breadth-first DIRECTORY + READ of every node under /bulk, verifying structure and values.</summary>
    private static void Walk(WorkloadContext ctx, XsConnection c, long nodes, int window)
    {
        var queue = new List<string> { "/bulk" };
        long leaves = 0;
        double cpu0 = ctx.Probe.CpuSeconds();
        long start = Stopwatch.GetTimestamp();
        // Each node costs two requests: even index DIRECTORY, odd index READ of queue[i / 2]. The queue grows
        // while we go, so the count is open-ended; the driver stops when nothing is in flight.
        long issuedLimit = long.MaxValue;
        uint Issue(long i)
        {
            string path = queue[(int)(i / 2)];
            return c.Enqueue(i % 2 == 0 ? XsMessageType.Directory : XsMessageType.Read, 0, Ops.Z(path));
        }
        void Check(XsConnection conn, long i, uint reqId, in Frame frame)
        {
            string path = queue[(int)(i / 2)];
            if (i % 2 == 0)
            {
                Replies.ExpectHeader(conn, frame, XsMessageType.Directory, reqId);
                ReadOnlySpan<byte> listing = conn.Payload(frame);
                int depth = path.Count(ch => ch == '/');
                int children = 0;
                while (!listing.IsEmpty)
                {
                    int nul = listing.IndexOf((byte)0);
                    if (nul <= 0)
                    {
                        throw new ProtocolException($"DIRECTORY {path}: malformed listing");
                    }
                    queue.Add(path + "/" + Encoding.ASCII.GetString(listing[..nul]));
                    listing = listing[(nul + 1)..];
                    children++;
                }
                if (depth == 4 && children != 0)
                {
                    throw new ProtocolException($"DIRECTORY {path}: a leaf with {children} children");
                }
            }
            else if (path.Count(ch => ch == '/') == 4)
            {
                // /bulk/aA/bB/nL: the value written for that leaf.
                string[] parts = path.Split('/');
                long n = (long.Parse(parts[2].AsSpan(1), CultureInfo.InvariantCulture) * DirectoriesPerGroup
                    + long.Parse(parts[3].AsSpan(1), CultureInfo.InvariantCulture)) * LeavesPerDirectory
                    + long.Parse(parts[4].AsSpan(1), CultureInfo.InvariantCulture);
                Replies.Expect(conn, frame, XsMessageType.Read, reqId, Encoding.ASCII.GetBytes(LeafValue(n)));
                leaves++;
            }
            else
            {
                Replies.Expect(conn, frame, XsMessageType.Read, reqId, []);
            }
        }
        long done = 0;
        long deadline = Ops.Deadline(ctx.Options.PhaseLimit);
        bool complete = true;
        while (done < queue.Count * 2L)
        {
            // The queue only grows when DIRECTORY replies arrive, so drive it in rounds over what is known.
            long target = Math.Min(queue.Count * 2L, issuedLimit);
            long round = Ops.Pipelined(c, target - done, window, i => Issue(done + i),
                (XsConnection conn, long i, uint reqId, in Frame frame) => Check(conn, done + i, reqId, frame), deadline);
            done += round;
            if (round < target - (done - round))
            {
                complete = false;
                break;
            }
        }
        long end = Stopwatch.GetTimestamp();
        double cpu1 = ctx.Probe.CpuSeconds();
        if (complete && leaves != nodes)
        {
            throw new ProtocolException($"walk found {leaves} leaves, wrote {nodes}");
        }
        double seconds = Ops.Seconds(start, end);
        long visited = done / 2;
        ctx.Result["walk_complete"] = complete;
        ctx.Result["walk_nodes"] = visited;
        ctx.Result["walk_seconds"] = seconds;
        ctx.Result["walk_nodes_per_second"] = visited / seconds;
        ctx.RecordCpu("walk_", cpu0, cpu1, done, seconds);
    }
}
