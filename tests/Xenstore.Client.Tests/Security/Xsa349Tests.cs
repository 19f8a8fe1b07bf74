namespace Xenstore.Client.Tests.Security;

/// <summary>
/// XSA-349 (a client-side advisory): Linux, FreeBSD and NetBSD queued watch events for their single xenwatch
/// thread without bound, so a frontend changing a watched path as fast as it could ran the backend's kernel out of
/// memory. The client library is such a consumer: its per-watch queue is bounded, coalesces repeats of a path, and
/// reports what it had to drop.
/// </summary>
public sealed class Xsa349Tests(DaemonPool pool)
{
    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task Xsa349_AFloodOfEventsForAWatchNobodyReadsStaysWithinItsQueue(string kind)
    {
        const int capacity = 256;
        await using XenstoreClient writer = await XenstoreClient.ConnectAsync(new XenstoreClientOptions { Path = (await pool.GetAsync(kind)).SocketPath });
        await using XenstoreClient backend = await XenstoreClient.ConnectAsync(new XenstoreClientOptions
        {
            Path = (await pool.GetAsync(kind)).SocketPath,
            WatchQueueCapacity = capacity,
        });
        string root = TestPaths.Unique("xsa349");
        await using XenstoreWatch watch = await backend.WatchAsync(root);
        // 5,000 distinct paths (nothing to coalesce) and 5,000 repeats of one, none read meanwhile.
        for (int i = 0; i < 5000; i++)
        {
            await writer.WriteAsync($"{root}/{i}", "");
            await writer.WriteAsync($"{root}/state", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        // A round trip on the watching connection: every event sent before its reply has been taken in.
        await backend.ExistsAsync(root);
        Assert.InRange(watch.Pending, 1, capacity);
        Assert.True(backend.Statistics.WatchOverflows >= 1);

        int drained = 0;
        bool overflowSeen = false;
        while (watch.Pending > 0)
        {
            XenstoreWatchEvent? next = await watch.ReadAsync();
            overflowSeen |= next!.IsOverflow;
            drained++;
        }
        Assert.True(overflowSeen, "the consumer is told that events were dropped");
        Assert.InRange(drained, 1, capacity);
        // Still working: the next change arrives.
        await writer.WriteAsync(root + "/after", "");
        Assert.Equal(root + "/after", (await watch.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)))!.Path);
    }
}
