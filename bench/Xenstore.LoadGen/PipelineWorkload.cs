using System.Diagnostics;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>One connection, a window of READs in flight: the daemon's throughput on one stream.</summary>
internal static class PipelineWorkload
{
    private const int Keys = 64;

    public static void Run(WorkloadContext ctx)
    {
        using XsConnection c = ctx.Connect();
        var requests = new byte[Keys][];
        var values = new byte[Keys][];
        for (int i = 0; i < Keys; i++)
        {
            string path = $"/bench/pipeline/k{i}";
            string value = $"value-{i}-0123456789";
            Ops.Write(c, path, value);
            requests[i] = Ops.Z(path);
            values[i] = Ops.Bytes(value);
        }
        uint Issue(long i) => c.Enqueue(XsMessageType.Read, 0, requests[i % Keys]);
        void Check(XsConnection conn, long i, uint reqId, in Frame frame) =>
            Replies.Expect(conn, frame, XsMessageType.Read, reqId, values[i % Keys]);

        int window = ctx.Options.Window;
        Ops.Pipelined(c, long.MaxValue, window, Issue, Check, Ops.Deadline(ctx.Options.Warmup));
        double cpu0 = ctx.Probe.CpuSeconds();
        long switches0 = ctx.Probe.ContextSwitches();
        TimeSpan self0 = Process.GetCurrentProcess().TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        long ops = Ops.Pipelined(c, long.MaxValue, window, Issue, Check, Ops.Deadline(ctx.Options.Duration));
        long end = Stopwatch.GetTimestamp();
        double cpu1 = ctx.Probe.CpuSeconds();
        ctx.Result["daemon_context_switches_per_op"] = (ctx.Probe.ContextSwitches() - switches0) / (double)ops;
        TimeSpan self1 = Process.GetCurrentProcess().TotalProcessorTime;

        double seconds = Ops.Seconds(start, end);
        ctx.Result["window"] = window;
        ctx.Result["ops"] = ops;
        ctx.Result["ops_per_second"] = ops / seconds;
        ctx.Result["loadgen_cpu_us_per_op"] = (self1 - self0).TotalMicroseconds / ops;
        ctx.RecordCpu("", cpu0, cpu1, ops, seconds);
    }
}
