using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

public sealed class WatchTests(DaemonPool pool)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private async Task<XenstoreClient> ConnectAsync(string kind, int capacity = 1024) =>
        await XenstoreClient.ConnectAsync(new XenstoreClientOptions
        {
            Path = (await pool.GetAsync(kind)).SocketPath,
            WatchQueueCapacity = capacity,
        });

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task Watch_FiresOnRegistration_ThenOnChanges(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("watch");
        await using XenstoreWatch watch = await client.WatchAsync(root);
        XenstoreWatchEvent? first = await watch.ReadAsync().AsTask().WaitAsync(s_wait);
        Assert.Equal(root, first!.Path);
        Assert.Equal(watch.Token, first.Token);
        await client.WriteAsync(root + "/child", "1");
        XenstoreWatchEvent? second = await watch.ReadAsync().AsTask().WaitAsync(s_wait);
        Assert.Equal(root + "/child", second!.Path);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task Watch_AsAsyncEnumerable_EndsWhenDisposed(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("enum");
        XenstoreWatch watch = await client.WatchAsync(root);
        var seen = new List<string>();
        Task consumer = Task.Run(async () =>
        {
            await foreach (XenstoreWatchEvent e in watch)
            {
                seen.Add(e.Path);
                if (e.Path.EndsWith("/done", StringComparison.Ordinal))
                {
                    await watch.DisposeAsync();
                }
            }
        });
        await client.WriteAsync(root + "/done", "");
        await consumer.WaitAsync(s_wait);
        Assert.Contains(root + "/done", seen);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task RepeatedChanges_ToOnePath_AreCoalesced(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("coalesce");
        await using XenstoreWatch watch = await client.WatchAsync(root);
        await watch.ReadAsync().AsTask().WaitAsync(s_wait);
        for (int i = 0; i < 50; i++)
        {
            await client.WriteAsync(root + "/x", i.ToString());
        }
        // One more round trip: C sends events before the reply, oxenstored after; either way all are queued now.
        await client.ExistsAsync(root);
        Assert.Equal(1, watch.Pending);
        Assert.True(client.Statistics.CoalescedWatchEvents >= 49);
        Assert.Equal(root + "/x", (await watch.ReadAsync())!.Path);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task FullQueue_ReportsOverflowExplicitly(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind, capacity: 4);
        string root = TestPaths.Unique("overflow");
        await using XenstoreWatch watch = await client.WatchAsync(root);
        await watch.ReadAsync().AsTask().WaitAsync(s_wait);
        for (int i = 0; i < 10; i++)
        {
            await client.WriteAsync($"{root}/{i}", "");
        }
        XenstoreWatchEvent? overflow = await watch.ReadAsync();
        Assert.True(overflow!.IsOverflow);
        Assert.Equal(root, overflow.Path);
        Assert.True(client.Statistics.WatchOverflows >= 1);
        Assert.False((await watch.ReadAsync())!.IsOverflow);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task EventsForUnknownTokens_AreDroppedAndCounted(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("foreign");
        (XsMessageType type, _) = await client.RequestAsync(XsMessageType.Watch, Encoding.ASCII.GetBytes(root + "\0foreign\0"));
        Assert.Equal(XsMessageType.Watch, type);
        await client.WriteAsync(root, "1");
        Assert.True(client.Statistics.UnknownWatchEvents >= 1);
        Assert.Equal("1", await client.ReadStringAsync(root));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task Tokens_AreUnique_SoTwoWatchesOnOnePathCoexist(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("twice");
        await using XenstoreWatch a = await client.WatchAsync(root);
        await using XenstoreWatch b = await client.WatchAsync(root);
        Assert.NotEqual(a.Token, b.Token);
        await client.WriteAsync(root, "v");
        Assert.Equal(root, (await a.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        Assert.Equal(root, (await b.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task WaitUntil_ReturnsOnceTheConditionHolds(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        await using XenstoreClient writer = await ConnectAsync(kind);
        string state = TestPaths.Unique("wait") + "/backend/state";
        int evaluations = 0;
        Task waiting = client.WaitUntilAsync(async (reader, ct) =>
        {
            Interlocked.Increment(ref evaluations);
            byte[]? value = await reader.TryReadAsync(state, ct);
            return value is not null && Encoding.ASCII.GetString(value) == "4";
        });
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        await writer.WriteAsync(state, "2");
        await writer.WriteAsync(state, "4");
        await waiting.WaitAsync(s_wait);
        Assert.True(evaluations >= 2);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task SpecialPaths_CanBeWatched(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        await using XenstoreWatch watch = await client.WatchAsync(XsPath.ReleaseDomain);
        Assert.Equal(XsPath.ReleaseDomain, (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
    }
}
