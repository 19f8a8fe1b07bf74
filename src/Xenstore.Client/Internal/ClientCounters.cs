namespace Xenstore.Client.Internal;

/// <summary>Counters shared by the connections of one client; updated with Interlocked from any thread.</summary>
internal sealed class ClientCounters
{
    public long RequestsSent;
    public long LateReplies;
    public long UnknownWatchEvents;
    public long CoalescedWatchEvents;
    public long WatchOverflows;
    public long Reconnects;
}
