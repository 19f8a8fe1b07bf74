using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>
/// What one connection did: requests by type (in total and in the last whole second), errors by errno, refusals by
/// quota, watch events, and the store thread's time on its requests. Plain fields, counted on the store thread;
/// also used for the sums over a domain's closed connections.
/// </summary>
internal sealed class ConnectionCounters
{
    /// <summary>One slot per message type up to SET_QUOTA, and one for anything else.</summary>
    public const int TypeSlots = (int)XsMessageType.SetQuota + 2;

    public const int ErrorSlots = (int)XsError.EPERM + 1;

    public static readonly int QuotaSlots = Enum.GetValues<Quota>().Length;

    private long[] _thisSecond = new long[TypeSlots];
    private long[] _lastSecond = new long[TypeSlots];
    private long _second = -1;

    public ConnectionCounters(int id, uint domid, string transport)
    {
        Id = id;
        Domid = domid;
        Transport = transport;
    }

    public int Id { get; }

    public uint Domid { get; }

    /// <summary>ring, socket or memory.</summary>
    public string Transport { get; }

    /// <summary>For a socket: the peer's pid and command, once looked up.</summary>
    public string? Peer { get; set; }

    public long[] Requests { get; } = new long[TypeSlots];

    public long[] Errors { get; } = new long[ErrorSlots];

    public long[] QuotaRefusals { get; } = new long[QuotaSlots];

    public long PermissionRefusals { get; set; }

    public long EventsQueued { get; set; }

    public long EventsDropped { get; set; }

    /// <summary>Stopwatch ticks the store thread spent executing this connection's requests.</summary>
    public long StoreTicks { get; set; }

    public static int Slot(XsMessageType type) => (uint)type < TypeSlots - 1 ? (int)type : TypeSlots - 1;

    /// <summary>Counts one executed request; <paramref name="second"/> is the whole second it finished in.</summary>
    public void Request(XsMessageType type, long second, long ticks)
    {
        int slot = Slot(type);
        Requests[slot]++;
        StoreTicks += ticks;
        if (second != _second)
        {
            Roll(second);
        }
        _thisSecond[slot]++;
    }

    /// <summary>
    /// Adds the requests of the last whole second before <paramref name="now"/> (the second in progress is not
    /// over yet) into <paramref name="into"/>.
    /// </summary>
    public void AddRate(long now, long[] into)
    {
        long[]? source = now == _second + 1 ? _thisSecond : now == _second ? _lastSecond : null;
        if (source is null)
        {
            return;
        }
        for (int i = 0; i < TypeSlots; i++)
        {
            into[i] += source[i];
        }
    }

    /// <summary>Adds every total of <paramref name="other"/> (a closed connection) into this one.</summary>
    public void Add(ConnectionCounters other)
    {
        AddInto(Requests, other.Requests);
        AddInto(Errors, other.Errors);
        AddInto(QuotaRefusals, other.QuotaRefusals);
        PermissionRefusals += other.PermissionRefusals;
        EventsQueued += other.EventsQueued;
        EventsDropped += other.EventsDropped;
        StoreTicks += other.StoreTicks;
    }

    public long Refusals => QuotaRefusals.Sum() + PermissionRefusals;

    private void Roll(long second)
    {
        if (second == _second + 1)
        {
            (_lastSecond, _thisSecond) = (_thisSecond, _lastSecond);
        }
        else
        {
            Array.Clear(_lastSecond);
        }
        Array.Clear(_thisSecond);
        _second = second;
    }

    private static void AddInto(long[] into, long[] from)
    {
        for (int i = 0; i < into.Length; i++)
        {
            into[i] += from[i];
        }
    }
}
