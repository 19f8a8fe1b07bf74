using System.Diagnostics;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>One connection, one READ in flight: the round trip of a single request.</summary>
internal static class LatencyWorkload
{
    public static void Run(WorkloadContext ctx)
    {
        using XsConnection c = ctx.Connect();
        const string Path = "/bench/latency";
        const string Value = "0123456789abcdef0123456789abcdef";
        Ops.Write(c, Path, Value);
        byte[] request = Ops.Z(Path);
        byte[] expected = Ops.Bytes(Value);

        RunFor(c, request, expected, ctx.Options.Warmup, null);
        var samples = new LatencySamples();
        double cpu0 = ctx.Probe.CpuSeconds();
        long switches0 = ctx.Probe.ContextSwitches();
        long start = Stopwatch.GetTimestamp();
        RunFor(c, request, expected, ctx.Options.Duration, samples);
        Report(ctx, samples, start, cpu0, switches0);
    }

    /// <summary>The figures of a one-in-flight phase that started at <paramref name="start"/> and ends now.</summary>
    public static void Report(WorkloadContext ctx, LatencySamples samples, long start, double cpu0, long switches0)
    {
        long end = Stopwatch.GetTimestamp();
        double cpu1 = ctx.Probe.CpuSeconds();
        ctx.Result["daemon_context_switches_per_op"] = (ctx.Probe.ContextSwitches() - switches0) / (double)samples.Count;
        double seconds = Ops.Seconds(start, end);
        ctx.Result["ops"] = samples.Count;
        ctx.Result["ops_per_second"] = samples.Count / seconds;
        ctx.Result["p50_us"] = samples.QuantileMicros(0.50);
        ctx.Result["p99_us"] = samples.QuantileMicros(0.99);
        ctx.Result["p999_us"] = samples.QuantileMicros(0.999);
        ctx.Result["max_us"] = samples.MaxMicros();
        ctx.RecordCpu("", cpu0, cpu1, samples.Count, seconds);
    }

    private static void RunFor(XsConnection c, byte[] request, byte[] expected, double seconds, LatencySamples? samples)
    {
        long deadline = Ops.Deadline(seconds);
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (t0 >= deadline)
            {
                return;
            }
            uint reqId = c.Enqueue(XsMessageType.Read, 0, request);
            c.Flush();
            Frame frame = c.Next();
            long t1 = Stopwatch.GetTimestamp();
            Replies.Expect(c, frame, XsMessageType.Read, reqId, expected);
            samples?.Add(t1 - t0);
        }
    }
}
