using System.Diagnostics;
using Xenstore.Protocol;
using Xenstore.Server.Accounting;
using Xenstore.Server.Pipeline;
using Xenstore.Store;

namespace Xenstore.Server.Tests;

/// <summary>
/// The request times of the store thread: one clock reading per run of one connection's requests, each run's time
/// charged to its connection, every request's latency from its batch's first reading to the end of its run.
/// </summary>
public sealed class RequestTimingTests : IDisposable
{
    /// <summary>A clock that counts its readings and advances by a set step at each (Stopwatch's frequency).</summary>
    private sealed class SteppingClock(long step) : TimeProvider
    {
        private long _ticks = 1_000;

        public int Readings { get; private set; }

        public override long TimestampFrequency => Stopwatch.Frequency;

        public override long GetTimestamp()
        {
            Readings++;
            _ticks += step;
            return _ticks;
        }
    }

    private sealed class Client(int id) : IClientConnection
    {
        public int Id => id;

        public uint Domid => 0;

        public bool Privileged => true;

        public ConnectionKind Kind => ConnectionKind.Transient;

        public OutputQueue Output { get; } = new(0);

        public void Flush()
        {
        }

        public void Abort(string reason)
        {
        }

        public void RequestCompleted()
        {
        }
    }

    private readonly SteppingClock _time = new(10);
    private readonly AccountingTable _table;
    private readonly ServerMetrics _metrics;
    private readonly RequestTiming _timing;

    public RequestTimingTests()
    {
        _table = new AccountingTable(_time);
        _metrics = new ServerMetrics(() => 0, _time.TimestampFrequency);
        _table.Opened(new Client(1));
        _table.Opened(new Client(2));
        _timing = new RequestTiming(_table, _metrics);
    }

    public void Dispose() => _metrics.Dispose();

    private ConnectionCounters Counters(int id) => _table.Find(id)!;

    [Fact]
    public void OneConnectionsChunk_TakesTwoReadings_AndChargesItsWholeRun()
    {
        long arrival = _timing.Arrival();
        Assert.Equal(1_010, arrival);
        for (int i = 0; i < 64; i++)
        {
            _timing.Starting(1);
            _timing.Executed(XsMessageType.Read, arrival);
        }
        Assert.Equal(1, _time.Readings);
        _timing.Close();
        Assert.Equal(2, _time.Readings);
        Assert.Equal(10, Counters(1).StoreTicks);
        Assert.Equal(64, Counters(1).Requests[(int)XsMessageType.Read]);
        // Every request of the chunk waited from the batch's start to the end of the run.
        Assert.Equal((64L, 64L * 10), _metrics.Latency);
    }

    [Fact]
    public void RunsOfTwoConnections_EachChargedTheirOwnTime()
    {
        long arrival = _timing.Arrival();
        _timing.Starting(1);
        _timing.Executed(XsMessageType.Read, arrival);
        _timing.Starting(1);
        _timing.Executed(XsMessageType.Write, arrival);
        // Connection 2's chunk arrived in the same batch: the switch ends connection 1's run.
        Assert.Equal(arrival, _timing.Arrival());
        _timing.Starting(2);
        _timing.Executed(XsMessageType.Read, arrival);
        _timing.Close();
        Assert.Equal(3, _time.Readings);
        Assert.Equal(10, Counters(1).StoreTicks);
        Assert.Equal(10, Counters(2).StoreTicks);
        Assert.Equal(1, Counters(1).Requests[(int)XsMessageType.Write]);
        Assert.Equal(1, Counters(2).Requests[(int)XsMessageType.Read]);
        // Connection 1's two waited 10 ticks, connection 2's one 20.
        Assert.Equal((3L, 40L), _metrics.Latency);
    }

    [Fact]
    public void AfterClose_IdleTimeIsChargedToNobody()
    {
        long first = _timing.Arrival();
        _timing.Starting(1);
        _timing.Executed(XsMessageType.Read, first);
        _timing.Close();
        // Closing again with no run takes no reading.
        _timing.Close();
        Assert.Equal(2, _time.Readings);
        _time.GetTimestamp();
        long second = _timing.Arrival();
        Assert.Equal(1_040, second);
        _timing.Starting(1);
        _timing.Executed(XsMessageType.Read, second);
        _timing.Close();
        Assert.Equal(20, Counters(1).StoreTicks);
        Assert.Equal((2L, 20L), _metrics.Latency);
    }

    [Fact]
    public void ARequestPostedFromAnotherThread_KeepsItsOwnArrival()
    {
        // Queued work: no input received in this batch, the arrival was stamped when it was posted.
        _timing.Starting(2);
        _timing.Executed(XsMessageType.Read, 900);
        _timing.Close();
        Assert.Equal(2, _time.Readings);
        Assert.Equal(10, Counters(2).StoreTicks);
        Assert.Equal((1L, 1_020L - 900), _metrics.Latency);
    }

    [Fact]
    public void ARequestWhoseExecutionClosedTheRun_StillGetsItsLatency()
    {
        long arrival = _timing.Arrival();
        _timing.Starting(1);
        // The request closed its own connection: the pipeline closes the run before the connection goes.
        _timing.Close();
        _table.Closed(1);
        _timing.Executed(XsMessageType.Release, arrival);
        _timing.Close();
        Assert.Equal((1L, 20L), _metrics.Latency);
        Assert.Equal(10, _table.ClosedByDomain[0].StoreTicks);
        Assert.Equal(3, _time.Readings);
    }

    [Fact]
    public void AClosedConnectionsRun_IsChargedBeforeItsCountersGo()
    {
        long arrival = _timing.Arrival();
        _timing.Starting(1);
        _timing.Executed(XsMessageType.Read, arrival);
        _timing.Close();
        _table.Closed(1);
        Assert.Equal(10, _table.ClosedByDomain[0].StoreTicks);
    }
}
