using Xenstore.Server.Pipeline;

namespace Xenstore.Server.Tests;

public sealed class RequestClockTests
{
    /// <summary>A clock that counts its readings and advances by a set step at each.</summary>
    private sealed class SteppingClock(long step) : TimeProvider
    {
        private long _ticks = 1_000;

        public int Readings { get; private set; }

        public override long TimestampFrequency => 1_000_000_000;

        public override long GetTimestamp()
        {
            Readings++;
            _ticks += step;
            return _ticks;
        }
    }

    [Fact]
    public void RequestsOfOneBatch_TakeOneReadingEach_AndShareTheBatchArrival()
    {
        var time = new SteppingClock(10);
        var clock = new RequestClock(time);

        long arrival = clock.Arrival();
        Assert.Equal(1_010, arrival);
        long first = clock.Completed(out long firstElapsed);
        Assert.Equal(1_020, first);
        Assert.Equal(10, firstElapsed);
        // Input received later in the same batch arrived when the batch started.
        Assert.Equal(arrival, clock.Arrival());
        long second = clock.Completed(out long secondElapsed);
        Assert.Equal(1_030, second);
        Assert.Equal(10, secondElapsed);
        Assert.Equal(3, time.Readings);
    }

    [Fact]
    public void AfterInvalidate_TheNextRequestStartsAtAFreshReading()
    {
        var time = new SteppingClock(10);
        var clock = new RequestClock(time);
        clock.Arrival();
        clock.Completed(out _);

        clock.Invalidate();
        long arrival = clock.Arrival();
        Assert.Equal(1_030, arrival);
        Assert.Equal(arrival, clock.Arrival());
        clock.Completed(out long elapsed);
        Assert.Equal(10, elapsed);
        Assert.Equal(4, time.Readings);
    }

    [Fact]
    public void ACompletionWithoutArrival_MeasuresFromAReadingOfItsOwn()
    {
        var time = new SteppingClock(7);
        var clock = new RequestClock(time);
        long done = clock.Completed(out long elapsed);
        Assert.Equal(1_014, done);
        Assert.Equal(7, elapsed);
        Assert.Equal(2, time.Readings);
    }
}
