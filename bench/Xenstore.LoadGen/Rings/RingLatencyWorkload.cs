using System.Diagnostics;
using Xenstore.Protocol;

namespace Xenstore.LoadGen.Rings;

/// <summary>One guest, one READ in flight over its ring: the round trip from request to response index.</summary>
internal static class RingLatencyWorkload
{
    public static void Run(WorkloadContext ctx)
    {
        using XsConnection dom0 = ctx.Connect();
        List<GuestRing> guests = RingGuests.Introduce(ctx, dom0, 1);
        using GuestRing guest = guests[0];
        string path = $"/local/domain/{guest.Domid}/latency";
        const string Value = "0123456789abcdef0123456789abcdef";
        RingGuests.Call(guest, XsMessageType.Write, Ops.Bytes(path + "\0" + Value), RingGuests.Deadline());
        byte[] request = Ops.Z(path);
        byte[] expected = Ops.Bytes(Value);

        RunFor(guest, request, expected, ctx.Options.Warmup, null);
        var samples = new LatencySamples();
        double cpu0 = ctx.Probe.CpuSeconds();
        long switches0 = ctx.Probe.ContextSwitches();
        long start = Stopwatch.GetTimestamp();
        RunFor(guest, request, expected, ctx.Options.Duration, samples);
        LatencyWorkload.Report(ctx, samples, start, cpu0, switches0);
    }

    private static void RunFor(GuestRing guest, byte[] request, byte[] expected, double seconds, LatencySamples? samples)
    {
        long deadline = Ops.Deadline(seconds);
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (t0 >= deadline)
            {
                return;
            }
            ReadOnlySpan<byte> reply = RingGuests.Call(guest, XsMessageType.Read, request, RingGuests.Deadline());
            long t1 = Stopwatch.GetTimestamp();
            if (!Replies.PayloadChecksOff && !reply.SequenceEqual(expected))
            {
                throw new ProtocolException($"READ over the ring: '{Replies.Show(reply)}'");
            }
            samples?.Add(t1 - t0);
        }
    }
}
