using Xenstore.Server.Pipeline;

namespace Xenstore.Server.Tests;

/// <summary>When the store gives memory back: only after a large fall from a large peak, about log(N) times.</summary>
public sealed class HeapTrimmerTests
{
    [Fact]
    public void AStoreFallingFromItsPeak_TrimsAtEachFallTo60Percent_AndGrowthNever()
    {
        var trimmer = new HeapTrimmer();
        for (int nodes = 100; nodes <= 20_000; nodes += 100)
        {
            trimmer.AfterBatch(nodes);
        }
        Assert.Equal(0, trimmer.Trims);
        trimmer.AfterBatch(12_100);
        Assert.Equal(0, trimmer.Trims);
        trimmer.AfterBatch(12_000);
        Assert.Equal(1, trimmer.Trims);
        // Down to none in steps: each fall to 60% of the last trim's size, by 1000 nodes or more, trims once more.
        for (int nodes = 11_900; nodes >= 0; nodes -= 100)
        {
            trimmer.AfterBatch(nodes);
        }
        Assert.InRange(trimmer.Trims, 5, 8);
    }

    [Fact]
    public void ASmallStore_OrASmallFall_NeverTrims()
    {
        var small = new HeapTrimmer();
        small.AfterBatch(HeapTrimmer.MinimumPeak - 1);
        small.AfterBatch(0);
        Assert.Equal(0, small.Trims);

        var oscillating = new HeapTrimmer();
        oscillating.AfterBatch(50_000);
        oscillating.AfterBatch(1_000);
        int after = oscillating.Trims;
        for (int i = 0; i < 100; i++)
        {
            oscillating.AfterBatch(1_500);
            oscillating.AfterBatch(600);
        }
        Assert.Equal(after, oscillating.Trims);
    }
}
