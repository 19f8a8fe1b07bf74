using Xenstore.Protocol;

namespace Xenstore.LoadGen.Rings;

/// <summary>
/// Guests on simulated rings, made the way a toolstack makes them: each page created zeroed, the domain's home
/// <c>/local/domain/N</c> written and handed to it by dom0, then INTRODUCE over dom0's socket.
/// </summary>
internal static class RingGuests
{
    public static List<GuestRing> Introduce(WorkloadContext ctx, XsConnection dom0, int count)
    {
        string directory = ctx.Options.SimulationDirectory ?? throw new ProtocolException("ring workloads need --sim-dir");
        var guests = new List<GuestRing>();
        for (int i = 0; i < count; i++)
        {
            uint domid = (uint)(ctx.Options.FirstDomid + i);
            var guest = new GuestRing(directory, domid);
            guests.Add(guest);
            string home = $"/local/domain/{domid}";
            Ops.Write(dom0, home, "");
            Ops.Call(dom0, XsMessageType.SetPerms, 0, Ops.Bytes($"{home}\0n{domid}\0"));
            Ops.Call(dom0, XsMessageType.Introduce, 0, guest.IntroducePayload);
        }
        return guests;
    }

    /// <summary>One request over a guest's ring, waited for by spinning on the response index.</summary>
    public static ReadOnlySpan<byte> Call(GuestRing guest, XsMessageType type, ReadOnlySpan<byte> payload, long deadline)
    {
        uint reqId;
        while ((reqId = guest.TrySend(type, payload)) == 0)
        {
            guest.Receive(out _, deadline);
        }
        guest.Notify();
        while (true)
        {
            XsHeader header = guest.Receive(out ReadOnlySpan<byte> reply, deadline);
            if (header.Type == XsMessageType.WatchEvent)
            {
                continue;
            }
            if (header.ReqId != reqId || header.Type != type)
            {
                throw new ProtocolException($"domain {guest.Domid}: {type} req {reqId} answered by {header.Type} req {header.ReqId} '{Replies.Show(reply)}'");
            }
            return reply;
        }
    }

    /// <summary>A generous deadline for one round trip: a stalled daemon fails the run instead of hanging it.</summary>
    public static long Deadline() => Ops.Deadline(10);
}
