using System.Diagnostics;
using Xenstore.Protocol;

namespace Xenstore.LoadGen.Rings;

/// <summary>
/// A hostile guest on its ring while a well-behaved guest (its own ring) and dom0 (the socket) time their READ
/// round trips, first without the attack (the idle figures), then during it; the daemon's RSS is sampled
/// throughout. Attacks:
/// <list type="bullet">
/// <item><c>flood</c>: writes requests as fast as its ring takes them and never reads a reply; afterwards it reads
/// what it was sent, which must be its replies in order;</item>
/// <item><c>notify-storm</c>: breaks the protocol (a header announcing 5000 bytes) so the daemon ignores its ring,
/// then writes notifications into the event channel as fast as it can.</item>
/// </list>
/// </summary>
internal static class HostileGuestWorkload
{
    private const string Value = "0123456789abcdef";

    public static void Run(WorkloadContext ctx, string attack)
    {
        using XsConnection dom0 = ctx.Connect();
        List<GuestRing> guests = RingGuests.Introduce(ctx, dom0, 2);
        using GuestRing attacker = guests[0];
        using GuestRing victim = guests[1];
        string victimPath = $"/local/domain/{victim.Domid}/value";
        string attackerPath = $"/local/domain/{attacker.Domid}/value";
        RingGuests.Call(victim, XsMessageType.Write, Ops.Bytes(victimPath + "\0" + Value), RingGuests.Deadline());
        RingGuests.Call(attacker, XsMessageType.Write, Ops.Bytes(attackerPath + "\0" + Value), RingGuests.Deadline());
        Ops.Write(dom0, "/bench/dom0", Value);

        Measure(ctx, "idle_", dom0, victim, victimPath, ctx.Options.Warmup);
        using var stop = new CancellationTokenSource();
        long attackerRequests = 0;
        Exception? attackerFailure = null;
        var thread = new Thread(() =>
        {
            try
            {
                attackerRequests = attack == "flood" ? Flood(attacker, attackerPath, stop.Token) : Storm(attacker, stop.Token);
            }
            catch (Exception e) when (e is ProtocolException or IOException)
            {
                attackerFailure = e;
            }
        }) { IsBackground = true, Name = "attacker" };
        thread.Start();
        Measure(ctx, "", dom0, victim, victimPath, ctx.Options.Duration);
        stop.Cancel();
        thread.Join();
        if (attackerFailure is not null)
        {
            throw new ProtocolException("attacker: " + attackerFailure.Message);
        }
        ctx.Result["attack"] = attack;
        ctx.Result["attacker_requests"] = attackerRequests;
        ctx.Result["rss_after_mib"] = ctx.Probe.RssBytes() / 1048576.0;
        if (attack == "flood")
        {
            ctx.Result["attacker_replies_in_order"] = DrainInOrder(attacker, attackerRequests);
        }
    }

    /// <summary>READ requests into the ring whenever it has room; never a reply read. Returns how many were written.</summary>
    private static long Flood(GuestRing attacker, string path, CancellationToken stop)
    {
        byte[] request = Ops.Z(path);
        long written = 0;
        while (!stop.IsCancellationRequested)
        {
            bool any = false;
            while (attacker.TrySend(XsMessageType.Read, request) != 0)
            {
                written++;
                any = true;
            }
            if (any)
            {
                attacker.Notify();
            }
            else
            {
                Thread.Yield();
            }
        }
        return written;
    }

    /// <summary>Gets its ring ignored, then notifies as fast as the event channel takes it. Returns notifications sent.</summary>
    private static long Storm(GuestRing attacker, CancellationToken stop)
    {
        Span<byte> header = stackalloc byte[XsConstants.HeaderSize];
        new XsHeader(XsMessageType.Read, 1, 0, 5000).Write(header);
        attacker.WriteRaw(header);
        attacker.Notify();
        long waitUntil = Ops.Deadline(2);
        while (attacker.Read(RingLayout.Error) == 0 && Stopwatch.GetTimestamp() < waitUntil)
        {
            Thread.Yield();
        }
        long sent = 0;
        while (!stop.IsCancellationRequested)
        {
            attacker.Notify();
            sent++;
        }
        return sent;
    }

    /// <summary>Reads what the flooding guest was sent: READ replies with consecutive req_ids, until none comes.</summary>
    private static long DrainInOrder(GuestRing attacker, long written)
    {
        uint expected = 2;
        long received = 0;
        long quiet = Ops.Deadline(2);
        while (received < written && Stopwatch.GetTimestamp() < quiet)
        {
            if (!attacker.TryReceive(out XsHeader header, out _))
            {
                attacker.Notify();
                Thread.Yield();
                continue;
            }
            if (header.ReqId != expected || header.Type != XsMessageType.Read)
            {
                throw new ProtocolException($"flooding guest: reply {header.Type} req {header.ReqId}, expected READ req {expected}");
            }
            expected++;
            received++;
            quiet = Ops.Deadline(2);
        }
        return received;
    }

    /// <summary>Alternates a victim-guest and a dom0 round trip for the given time, sampling RSS.</summary>
    private static void Measure(WorkloadContext ctx, string prefix, XsConnection dom0, GuestRing victim, string victimPath, double seconds)
    {
        var guestSamples = new LatencySamples();
        var dom0Samples = new LatencySamples();
        byte[] guestRequest = Ops.Z(victimPath);
        byte[] dom0Request = Ops.Z("/bench/dom0");
        long rssPeak = ctx.Probe.RssBytes();
        long rssStart = rssPeak;
        long nextRss = Ops.Deadline(0.1);
        long deadline = Ops.Deadline(seconds);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            long t0 = Stopwatch.GetTimestamp();
            RingGuests.Call(victim, XsMessageType.Read, guestRequest, RingGuests.Deadline());
            long t1 = Stopwatch.GetTimestamp();
            Ops.Call(dom0, XsMessageType.Read, 0, dom0Request);
            long t2 = Stopwatch.GetTimestamp();
            guestSamples.Add(t1 - t0);
            dom0Samples.Add(t2 - t1);
            if (t2 > nextRss)
            {
                rssPeak = Math.Max(rssPeak, ctx.Probe.RssBytes());
                nextRss = Ops.Deadline(0.1);
            }
        }
        ctx.Result[prefix + "guest_p50_us"] = guestSamples.QuantileMicros(0.50);
        ctx.Result[prefix + "guest_p99_us"] = guestSamples.QuantileMicros(0.99);
        ctx.Result[prefix + "guest_max_us"] = guestSamples.MaxMicros();
        ctx.Result[prefix + "dom0_p50_us"] = dom0Samples.QuantileMicros(0.50);
        ctx.Result[prefix + "dom0_p99_us"] = dom0Samples.QuantileMicros(0.99);
        ctx.Result[prefix + "dom0_max_us"] = dom0Samples.MaxMicros();
        ctx.Result[prefix + "rss_start_mib"] = rssStart / 1048576.0;
        ctx.Result[prefix + "rss_peak_mib"] = rssPeak / 1048576.0;
        // What the phase added: runtimes differ in their resting size, growth is what an attack costs.
        ctx.Result[prefix + "rss_growth_mib"] = (rssPeak - rssStart) / 1048576.0;
    }
}
