using System.Diagnostics;
using Xenstore.Protocol;

namespace Xenstore.LoadGen.Rings;

/// <summary>
/// Guests on their rings, each keeping <c>--window</c> READs in flight, driven round robin by one thread that
/// spins over the response indexes (one guest with a deep window: the ring's pipelined rate; many guests with one
/// each: the daemon's rate over many rings). Every reply is checked.
/// </summary>
internal static class RingThroughputWorkload
{
    private const string Value = "0123456789abcdef";
    private static readonly byte[] s_expected = Ops.Bytes(Value);

    private sealed class Guest(GuestRing ring, byte[] request)
    {
        public GuestRing Ring { get; } = ring;
        public byte[] Request { get; } = request;
        public Queue<(uint ReqId, long Sent)> InFlight { get; } = new();
    }

    public static void Run(WorkloadContext ctx, int guestCount, int window)
    {
        using XsConnection dom0 = ctx.Connect();
        var guests = new List<Guest>();
        foreach (GuestRing ring in RingGuests.Introduce(ctx, dom0, guestCount))
        {
            string path = $"/local/domain/{ring.Domid}/throughput";
            RingGuests.Call(ring, XsMessageType.Write, Ops.Bytes(path + "\0" + Value), RingGuests.Deadline());
            guests.Add(new Guest(ring, Ops.Z(path)));
        }
        try
        {
            RunFor(guests, window, ctx.Options.Warmup, null);
            var samples = new LatencySamples();
            double cpu0 = ctx.Probe.CpuSeconds();
            long start = Stopwatch.GetTimestamp();
            long ops = RunFor(guests, window, ctx.Options.Duration, samples);
            long end = Stopwatch.GetTimestamp();
            double cpu1 = ctx.Probe.CpuSeconds();
            double seconds = Ops.Seconds(start, end);
            ctx.Result["guests"] = guestCount;
            ctx.Result["window"] = window;
            ctx.Result["ops"] = ops;
            ctx.Result["ops_per_second"] = ops / seconds;
            ctx.Result["p50_us"] = samples.QuantileMicros(0.50);
            ctx.Result["p99_us"] = samples.QuantileMicros(0.99);
            ctx.Result["max_us"] = samples.MaxMicros();
            ctx.RecordCpu("", cpu0, cpu1, ops, seconds);
        }
        finally
        {
            guests.ForEach(g => g.Ring.Dispose());
        }
    }

    /// <summary>Runs for the given time, then lets every request in flight complete; returns the replies counted.</summary>
    private static long RunFor(List<Guest> guests, int window, double seconds, LatencySamples? samples)
    {
        long deadline = Ops.Deadline(seconds);
        long stall = RingGuests.Deadline();
        long ops = 0;
        bool issuing = true;
        var spin = new SpinWait();
        var notify = new List<GuestRing>(guests.Count);
        while (issuing || guests.Any(g => g.InFlight.Count > 0))
        {
            long now = Stopwatch.GetTimestamp();
            issuing = now < deadline;
            bool progress = false;
            foreach (Guest guest in guests)
            {
                while (guest.Ring.TryReceive(out XsHeader header, out ReadOnlySpan<byte> reply))
                {
                    (uint reqId, long sentAt) = guest.InFlight.Dequeue();
                    if (header.ReqId != reqId || header.Type != XsMessageType.Read
                        || (!Replies.PayloadChecksOff && !reply.SequenceEqual(s_expected)))
                    {
                        throw new ProtocolException($"domain {guest.Ring.Domid}: READ req {reqId} answered by {header.Type} req {header.ReqId} '{Replies.Show(reply)}'");
                    }
                    samples?.Add(now - sentAt);
                    ops++;
                    progress = true;
                }
                bool sent = false;
                while (issuing && guest.InFlight.Count < window)
                {
                    uint id = guest.Ring.TrySend(XsMessageType.Read, guest.Request);
                    if (id == 0)
                    {
                        break;
                    }
                    guest.InFlight.Enqueue((id, now));
                    sent = true;
                }
                if (sent)
                {
                    notify.Add(guest.Ring);
                    progress = true;
                }
            }
            GuestRing.NotifyAll(notify);
            notify.Clear();
            if (progress)
            {
                stall = RingGuests.Deadline();
                spin.Reset();
            }
            else if (now > stall)
            {
                throw new ProtocolException("no reply over any ring for 10 s");
            }
            else
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        return ops;
    }
}
