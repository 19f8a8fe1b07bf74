using Xenstore.Server.Pipeline;

namespace Xenstore.Server.Tests;

/// <summary>
/// When the store gives memory back: after a large fall from a large peak, about log(N) times during the fall, and
/// once when the daemon is quiet after the store fell or grew by a quarter; never while it grows, never for a small
/// store or a steady one.
/// </summary>
public sealed class HeapTrimmerTests
{
    private readonly ManualClock _clock = new();
    private int _collections;

    private HeapTrimmer NewTrimmer() => new(_clock, () => _collections++);

    [Fact]
    public void AStoreFallingFromItsPeak_TrimsAtEachFallTo60Percent_AndNeverWhileGrowing()
    {
        HeapTrimmer trimmer = NewTrimmer();
        for (int nodes = 100; nodes <= 20_000; nodes += 100)
        {
            trimmer.AfterBatch(nodes, busy: true);
        }
        Assert.Equal(0, trimmer.Trims);
        trimmer.AfterBatch(12_100, busy: true);
        Assert.Equal(0, trimmer.Trims);
        trimmer.AfterBatch(12_000, busy: true);
        Assert.Equal(1, trimmer.Trims);
        // Down to none in steps: each fall to 60% of the last trim's size, by 1000 nodes or more, trims once more.
        for (int nodes = 11_900; nodes >= 0; nodes -= 100)
        {
            trimmer.AfterBatch(nodes, busy: true);
        }
        Assert.InRange(trimmer.Trims, 5, 8);
        Assert.Equal(trimmer.Trims, _collections);
    }

    [Fact]
    public void ASmallStore_OrASmallFall_NeverTrims_EvenWhenQuiet()
    {
        HeapTrimmer small = NewTrimmer();
        small.AfterBatch(HeapTrimmer.MinimumPeak - 1, busy: true);
        small.AfterBatch(0, busy: true);
        _clock.Advance(TimeSpan.FromMinutes(1));
        small.AfterBatch(0, busy: false);
        Assert.Equal(0, small.Trims);
        Assert.Equal(-1, small.WaitMilliseconds());

        // A steady host: a large store losing a domain's worth of nodes now and then. Its first quiet second
        // after the store grew to its size trims once (the growth's), and nothing after that.
        HeapTrimmer steady = NewTrimmer();
        steady.AfterBatch(50_000, busy: true);
        _clock.Advance(HeapTrimmer.SettleDelay);
        steady.AfterBatch(50_000, busy: false);
        Assert.Equal(1, steady.Trims);
        _collections = 0;
        for (int i = 0; i < 100; i++)
        {
            steady.AfterBatch(49_900, busy: true);
            _clock.Advance(TimeSpan.FromMinutes(1));
            steady.AfterBatch(49_900, busy: false);
            steady.AfterBatch(50_000, busy: true);
        }
        Assert.Equal(1, steady.Trims);
        Assert.Equal(0, _collections);
    }

    [Fact]
    public void TheTailOfAFall_IsTrimmedOnce_WhenTheStoreHasBeenQuietForTheSettleDelay()
    {
        HeapTrimmer trimmer = NewTrimmer();
        trimmer.AfterBatch(5_000, busy: true);
        trimmer.AfterBatch(2_900, busy: true);
        Assert.Equal(1, trimmer.Trims);
        // Too small a fall for a trim during the destroy, but more than a quarter of the store.
        trimmer.AfterBatch(2_000, busy: true);
        Assert.Equal(1, trimmer.Trims);
        Assert.Equal((int)HeapTrimmer.SettleDelay.TotalMilliseconds, trimmer.WaitMilliseconds());

        // Batches with work keep it waiting, however long they go on.
        for (int i = 0; i < 10; i++)
        {
            _clock.Advance(HeapTrimmer.SettleDelay);
            trimmer.AfterBatch(2_000, busy: true);
        }
        Assert.Equal(1, trimmer.Trims);

        // A quiet batch before the delay is over does not trim either, and says how long is left.
        _clock.Advance(HeapTrimmer.SettleDelay / 4);
        trimmer.AfterBatch(2_000, busy: false);
        Assert.Equal(1, trimmer.Trims);
        Assert.InRange(trimmer.WaitMilliseconds(), 1, (int)HeapTrimmer.SettleDelay.TotalMilliseconds - 1);

        _clock.Advance(HeapTrimmer.SettleDelay);
        trimmer.AfterBatch(2_000, busy: false);
        Assert.Equal(2, trimmer.Trims);
        Assert.Equal(-1, trimmer.WaitMilliseconds());

        // Nothing more happens while the store stays as it is.
        _clock.Advance(TimeSpan.FromMinutes(1));
        trimmer.AfterBatch(2_000, busy: false);
        Assert.Equal(2, trimmer.Trims);
        Assert.Equal(2, _collections);
    }

    [Fact]
    public void AStoreThatGrewByAQuarter_IsTrimmedOnce_WhenQuiet_AndSmallerGrowthWaitsForMore()
    {
        HeapTrimmer trimmer = NewTrimmer();
        for (int nodes = 1_000; nodes <= 100_000; nodes += 1_000)
        {
            _clock.Advance(HeapTrimmer.SettleDelay);
            trimmer.AfterBatch(nodes, busy: true);
        }
        Assert.Equal(0, trimmer.Trims);
        Assert.Equal((int)HeapTrimmer.SettleDelay.TotalMilliseconds, trimmer.WaitMilliseconds());
        _clock.Advance(HeapTrimmer.SettleDelay);
        trimmer.AfterBatch(100_000, busy: false);
        Assert.Equal(1, trimmer.Trims);
        Assert.Equal(-1, trimmer.WaitMilliseconds());

        // 20% more: not yet a quarter of the store at the last collection.
        trimmer.AfterBatch(120_000, busy: true);
        _clock.Advance(TimeSpan.FromMinutes(1));
        trimmer.AfterBatch(120_000, busy: false);
        Assert.Equal(1, trimmer.Trims);

        trimmer.AfterBatch(125_000, busy: true);
        _clock.Advance(HeapTrimmer.SettleDelay);
        trimmer.AfterBatch(125_000, busy: false);
        Assert.Equal(2, trimmer.Trims);
        Assert.Equal(2, _collections);
    }
}
