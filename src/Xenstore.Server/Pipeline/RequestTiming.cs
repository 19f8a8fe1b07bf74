using Xenstore.Protocol;
using Xenstore.Server.Accounting;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// The times of the store thread's requests, for the per-connection store time and the metrics' latency, read from
/// the clock once per run of requests of one connection rather than around every request: a pipelining client's
/// whole chunk costs two readings (the batch's first and the run's end), and 64 clients with one request each about
/// one apiece.
/// <list type="bullet">
/// <item>A batch's first reading is the arrival of all the input the batch receives, so a request's latency
/// includes its wait behind the batch's earlier requests.</item>
/// <item>A run of one connection's requests starts at that reading or where the previous run ended, and ends when
/// another connection's request starts or the batch's requests are over: its time, framing included, is the
/// connection's store time.</item>
/// <item>A request's latency ends where its run ends (its reply cannot leave before the batch's journal anyway).</item>
/// </list>
/// Readings go stale when the thread waits for readiness again or does work that is no request's (a connection
/// opening or closing, an action, the journal and the sends): <see cref="Close"/> ends the run first, so neither
/// idle time nor foreign work is charged to a request. Store thread only.
/// </summary>
internal sealed class RequestTiming(AccountingTable table, ServerMetrics metrics)
{
    private const int NoConnection = -1;

    private readonly TimeProvider _time = table.Time;
    private long _arrival;
    private bool _fresh;
    private int _runConnection = NoConnection;
    private long _runStart;

    // The whole second _runStart falls in, for the connection's requests-per-second counters: once per run.
    private long _runSecond;

    // The requests of the current run not yet given their latency, grouped by arrival (most share the batch's).
    private long[] _arrivals = new long[8];
    private int[] _counts = new int[8];
    private int _groups;

    /// <summary>When input received now arrived: the batch's first reading (taken now if there is none yet).</summary>
    public long Arrival()
    {
        if (!_fresh)
        {
            _arrival = _time.GetTimestamp();
            StartRun(_arrival);
            _fresh = true;
        }
        return _arrival;
    }

    /// <summary>A request of <paramref name="connectionId"/> is about to execute: a run of another connection ends.</summary>
    public void Starting(int connectionId)
    {
        if (!_fresh)
        {
            Arrival();
        }
        else if (connectionId != _runConnection && _runConnection != NoConnection)
        {
            EndRun(_time.GetTimestamp());
        }
        _runConnection = connectionId;
    }

    /// <summary>The request <see cref="Starting"/> announced has executed (no clock reading).</summary>
    public void Executed(XsMessageType type, long arrival)
    {
        table.Find(_runConnection)?.Request(type, _runSecond, 0);
        metrics.RequestProcessed(type);
        if (_groups > 0 && _arrivals[_groups - 1] == arrival)
        {
            _counts[_groups - 1]++;
            return;
        }
        if (_groups == _arrivals.Length)
        {
            Array.Resize(ref _arrivals, _groups * 2);
            Array.Resize(ref _counts, _groups * 2);
        }
        _arrivals[_groups] = arrival;
        _counts[_groups] = 1;
        _groups++;
    }

    /// <summary>
    /// The thread is about to wait or to do work that is no request's: the current run ends (one reading, if
    /// there is a run), and the next request takes a new reading.
    /// </summary>
    public void Close()
    {
        // Requests may be waiting for their latency without a run: one whose execution closed its own connection.
        if (_runConnection != NoConnection || _groups > 0)
        {
            EndRun(_time.GetTimestamp());
        }
        _runConnection = NoConnection;
        _fresh = false;
    }

    private void EndRun(long now)
    {
        if (table.Find(_runConnection) is { } counters)
        {
            counters.StoreTicks += now - _runStart;
        }
        for (int i = 0; i < _groups; i++)
        {
            metrics.RequestsDone(_arrivals[i], now, _counts[i]);
        }
        _groups = 0;
        StartRun(now);
    }

    private void StartRun(long at)
    {
        _runStart = at;
        _runSecond = table.Second(at);
    }
}
