namespace Xenstore.Server.Pipeline;

/// <summary>
/// The store thread's timestamps for its requests, at one clock read per request: a request's execution ends at a
/// fresh reading, which is also where the next request's time starts. A batch's first reading is the arrival of all
/// the input the batch receives, so a request's latency includes its wait behind the batch's earlier requests, and a
/// request's store time is the thread's time from the end of the previous request, its framing included. Readings
/// go stale when the thread waits for readiness again or does work that is no request's (a connection opening or
/// closing, an action, the journal and the sends): the next request then takes a new one, so neither idle time nor
/// foreign work is charged to it. Store thread only.
/// </summary>
internal sealed class RequestClock(TimeProvider time)
{
    private long _arrival;
    private long _last;
    private bool _fresh;

    /// <summary>When input received now arrived: the batch's first reading (taken now if there is none yet).</summary>
    public long Arrival()
    {
        if (!_fresh)
        {
            _arrival = time.GetTimestamp();
            _last = _arrival;
            _fresh = true;
        }
        return _arrival;
    }

    /// <summary>A request is executed: returns when it ended and how long it took (clock ticks).</summary>
    public long Completed(out long elapsed)
    {
        if (!_fresh)
        {
            Arrival();
        }
        long started = _last;
        long done = time.GetTimestamp();
        _last = done;
        elapsed = done - started;
        return done;
    }

    /// <summary>The thread is about to wait or to do work that is no request's: the next request takes a new reading.</summary>
    public void Invalidate() => _fresh = false;
}
