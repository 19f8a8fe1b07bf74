using CsCheck;
using Xenstore.Client.Internal;

namespace Xenstore.Client.Tests;

public sealed class WatchQueueTests
{
    [Fact]
    public async Task Post_CoalescesQueuedPaths_AndKeepsOrder()
    {
        var counters = new ClientCounters();
        var queue = new WatchQueue(8, counters);
        queue.Post("/a");
        queue.Post("/b");
        queue.Post("/a");
        Assert.Equal(("/a", false), await queue.ReadAsync(default));
        queue.Post("/a");
        Assert.Equal(("/b", false), await queue.ReadAsync(default));
        Assert.Equal(("/a", false), await queue.ReadAsync(default));
        Assert.Equal(1, counters.CoalescedWatchEvents);
    }

    [Fact]
    public void Post_NeverExceedsCapacity_AndReportsOverflow()
    {
        Gen.Select(Gen.Int[1, 8], Gen.Int[0, 20].Array[0, 100]).Sample((capacity, paths) =>
        {
            var queue = new WatchQueue(capacity, new ClientCounters());
            foreach (int p in paths)
            {
                queue.Post("/" + p);
                Assert.InRange(queue.Count, 0, capacity);
            }
            queue.Complete(null);
            // Without reads, the queue holds every distinct path until one more than fits arrives.
            (string? _, bool overflow) = queue.ReadAsync(default).AsTask().GetAwaiter().GetResult();
            Assert.Equal(paths.Distinct().Count() > capacity, overflow);
        });
    }

    [Fact]
    public async Task Complete_EndsTheStream_OrRaisesItsError()
    {
        var queue = new WatchQueue(4, new ClientCounters());
        Task<(string?, bool)> read = queue.ReadAsync(default).AsTask();
        queue.Complete(null);
        Assert.Equal((null, false), await read);
        var failing = new WatchQueue(4, new ClientCounters());
        failing.Complete(new XenstoreConnectionException("gone"));
        await Assert.ThrowsAsync<XenstoreConnectionException>(() => failing.ReadAsync(default).AsTask());
    }
}
