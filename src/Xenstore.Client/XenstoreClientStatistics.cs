namespace Xenstore.Client;

/// <summary>A snapshot of the client's counters, for diagnostics and tests.</summary>
/// <param name="InFlight">Requests sent or queued and not yet answered.</param>
/// <param name="RequestsSent">Requests written to the connection so far.</param>
/// <param name="LateReplies">Replies that arrived after their caller gave up (absorbed).</param>
/// <param name="UnknownWatchEvents">Watch events whose token matched no live watch (dropped).</param>
/// <param name="CoalescedWatchEvents">Events merged into an already queued event for the same path.</param>
/// <param name="WatchOverflows">Times a watch queue overflowed and reported it.</param>
/// <param name="Reconnects">Successful reconnections.</param>
public readonly record struct XenstoreClientStatistics(
    int InFlight,
    long RequestsSent,
    long LateReplies,
    long UnknownWatchEvents,
    long CoalescedWatchEvents,
    long WatchOverflows,
    long Reconnects)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"inflight={InFlight} sent={RequestsSent} late={LateReplies} unknownEvents={UnknownWatchEvents} " +
        $"coalesced={CoalescedWatchEvents} overflows={WatchOverflows} reconnects={Reconnects}";
}
