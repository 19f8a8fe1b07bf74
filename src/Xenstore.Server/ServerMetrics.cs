using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// The daemon's metrics. Counters are plain fields updated on the store thread (no locks on the hot path) and
/// published through System.Diagnostics.Metrics (meter <c>Xenstore.Server</c>, for dotnet-counters and
/// OpenTelemetry), through CONTROL <c>metrics</c> and as Prometheus text.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "Xenstore.Server";

    /// <summary>Upper bounds (microseconds) of the latency histogram buckets, as Prometheus "le" labels.</summary>
    private static readonly double[] s_latencyBucketsUs = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000];


    private readonly long[] _requestsByType = new long[(int)XsMessageType.SetQuota + 2];
    private readonly long[] _errorsByErrno = new long[(int)XsError.EPERM + 1];
    private readonly long[] _latencyBuckets = new long[s_latencyBucketsUs.Length + 1];

    /// <summary>Ticks per second of the timestamps requests are timed with (the daemon's TimeProvider).</summary>
    private readonly long _ticksPerSecond;

    /// <summary>The bucket bounds in those ticks: a request is counted without converting its time.</summary>
    private readonly long[] _latencyBucketsTicks;
    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _latency;
    private long _latencySumTicks;
    private long _latencyCount;
    private long _watchEventsQueued;
    private long _watchEventsDropped;
    private long _connectionsOpened;
    private long _connectionsClosed;
    private readonly Func<long> _journalBytes;

    /// <param name="journalBytes">Bytes written to the journal so far (0 without persistence).</param>
    /// <param name="timestampFrequency">
    /// Ticks per second of the timestamps given to <see cref="RequestsDone"/> (<see cref="TimeProvider.TimestampFrequency"/>).
    /// </param>
    public ServerMetrics(Func<long> journalBytes, long timestampFrequency)
    {
        _journalBytes = journalBytes;
        _ticksPerSecond = timestampFrequency;
        _latencyBucketsTicks = [.. s_latencyBucketsUs.Select(us => (long)(us * timestampFrequency / 1e6))];
        _latency = _meter.CreateHistogram<double>("xenstore.request.duration", "us", "Time from the start of the batch that received a request to the end of its run of requests");
        _meter.CreateObservableCounter("xenstore.requests", () => Volatile.Read(ref _latencyCount), description: "Requests processed");
        _meter.CreateObservableCounter("xenstore.errors", () => _errorsByErrno.Sum(), description: "Error replies");
        _meter.CreateObservableCounter("xenstore.watch_events.queued", () => Volatile.Read(ref _watchEventsQueued));
        _meter.CreateObservableCounter("xenstore.watch_events.dropped", () => Volatile.Read(ref _watchEventsDropped));
        _meter.CreateObservableGauge("xenstore.connections", () => Volatile.Read(ref _connectionsOpened) - Volatile.Read(ref _connectionsClosed));
        _meter.CreateObservableCounter("xenstore.journal.bytes", () => _journalBytes());
    }

    /// <summary>Counts one executed request by type (its latency comes with <see cref="RequestsDone"/>).</summary>
    public void RequestProcessed(XsMessageType type)
    {
        int index = (uint)type < (uint)_requestsByType.Length - 1 ? (int)type : _requestsByType.Length - 1;
        _requestsByType[index]++;
    }

    /// <summary>
    /// Records the latency of <paramref name="count"/> requests that arrived together and were executed by
    /// <paramref name="doneTimestamp"/> (timestamps of the frequency given at construction: see
    /// <see cref="Pipeline.RequestTiming"/>).
    /// </summary>
    public void RequestsDone(long arrivalTimestamp, long doneTimestamp, int count)
    {
        long ticks = doneTimestamp - arrivalTimestamp;
        int bucket = 0;
        while (bucket < _latencyBucketsTicks.Length && ticks > _latencyBucketsTicks[bucket])
        {
            bucket++;
        }
        _latencyBuckets[bucket] += count;
        _latencySumTicks += ticks * count;
        Volatile.Write(ref _latencyCount, _latencyCount + count);
        if (_latency.Enabled)
        {
            double us = ticks * 1e6 / _ticksPerSecond;
            for (int i = 0; i < count; i++)
            {
                _latency.Record(us);
            }
        }
    }

    /// <summary>Requests given a latency so far, and the sum of their latencies in timestamp ticks.</summary>
    public (long Count, long SumTicks) Latency => (_latencyCount, _latencySumTicks);

    public void ErrorSent(XsError error) => _errorsByErrno[(int)error]++;

    public void WatchEvent(bool queued)
    {
        if (queued)
        {
            _watchEventsQueued++;
        }
        else
        {
            _watchEventsDropped++;
        }
    }

    public void ConnectionOpened() => _connectionsOpened++;

    public void ConnectionClosed() => _connectionsClosed++;

    /// <summary>Prometheus text exposition format; call on the store thread so engine figures are consistent.</summary>
    public string Render(XenstoreEngine engine, Accounting.AccountingSnapshot domains)
    {
        var text = new StringBuilder();
        text.Append("# TYPE xenstore_requests_total counter\n");
        for (int i = 0; i < _requestsByType.Length; i++)
        {
            if (_requestsByType[i] > 0)
            {
                string name = i < _requestsByType.Length - 1 ? ((XsMessageType)i).ToString() : "Other";
                Line(text, $"xenstore_requests_total{{type=\"{name}\"}}", _requestsByType[i]);
            }
        }
        text.Append("# TYPE xenstore_errors_total counter\n");
        for (int i = 0; i < _errorsByErrno.Length; i++)
        {
            if (_errorsByErrno[i] > 0)
            {
                Line(text, $"xenstore_errors_total{{errno=\"{XsErrors.Name((XsError)i)}\"}}", _errorsByErrno[i]);
            }
        }
        text.Append("# TYPE xenstore_request_duration_microseconds histogram\n");
        long cumulative = 0;
        for (int i = 0; i < _latencyBuckets.Length; i++)
        {
            cumulative += _latencyBuckets[i];
            string le = i < s_latencyBucketsUs.Length ? s_latencyBucketsUs[i].ToString(CultureInfo.InvariantCulture) : "+Inf";
            Line(text, $"xenstore_request_duration_microseconds_bucket{{le=\"{le}\"}}", cumulative);
        }
        Line(text, "xenstore_request_duration_microseconds_sum", (long)(_latencySumTicks * 1e6 / _ticksPerSecond));
        Line(text, "xenstore_request_duration_microseconds_count", _latencyCount);
        Gauge(text, "xenstore_connections", _connectionsOpened - _connectionsClosed);
        Counter(text, "xenstore_watch_events_queued_total", _watchEventsQueued);
        Counter(text, "xenstore_watch_events_dropped_total", _watchEventsDropped);
        Counter(text, "xenstore_journal_bytes_total", _journalBytes());
        {
            Gauge(text, "xenstore_nodes", engine.Statistics.Nodes);
            Gauge(text, "xenstore_watches", engine.Statistics.Watches);
            Gauge(text, "xenstore_transactions_open", engine.Statistics.OpenTransactions);
            Counter(text, "xenstore_transactions_committed_total", engine.Statistics.TransactionsCommitted);
            Counter(text, "xenstore_transactions_aborted_total", engine.Statistics.TransactionsAborted);
            Counter(text, "xenstore_transactions_conflicts_total", engine.Statistics.TransactionsConflicted);
        }
        Accounting.DomainMetrics.Render(text, domains);
        RenderRuntime(text);
        return text.ToString();
    }

    /// <summary>The managed heap and the time the collector stopped the daemon: what explains a latency tail.</summary>
    private static void RenderRuntime(StringBuilder text)
    {
        text.Append("# TYPE dotnet_gc_collections_total counter\n");
        for (int generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            Line(text, $"dotnet_gc_collections_total{{generation=\"{generation}\"}}", GC.CollectionCount(generation));
        }
        Counter(text, "dotnet_gc_pause_microseconds_total", (long)GC.GetTotalPauseDuration().TotalMicroseconds);
        Gauge(text, "dotnet_gc_heap_bytes", GC.GetGCMemoryInfo().HeapSizeBytes);
        Counter(text, "dotnet_allocated_bytes_total", GC.GetTotalAllocatedBytes());
    }

    private static void Counter(StringBuilder text, string name, long value)
    {
        text.Append("# TYPE ").Append(name).Append(" counter\n");
        Line(text, name, value);
    }

    private static void Gauge(StringBuilder text, string name, long value)
    {
        text.Append("# TYPE ").Append(name).Append(" gauge\n");
        Line(text, name, value);
    }

    private static void Line(StringBuilder text, string name, long value) =>
        text.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    public void Dispose() => _meter.Dispose();
}
