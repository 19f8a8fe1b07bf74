using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

public sealed class MultiplexingTests(DaemonPool pool)
{
    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task ManyConcurrentCallers_ShareOneConnection(string kind)
    {
        IDaemonUnderTest daemon = await pool.GetAsync(kind);
        await using XenstoreClient client = await XenstoreClient.ConnectAsync(
            new XenstoreClientOptions { Path = daemon.SocketPath, MaxInFlight = 16 });
        string root = TestPaths.Unique("mux");
        const int callers = 500;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async i =>
        {
            await client.WriteAsync($"{root}/{i}", $"value-{i}");
            Assert.Equal($"value-{i}", await client.ReadStringAsync($"{root}/{i}"));
        }));
        Assert.Equal(callers, (await client.ListAsync(root)).Length);
        Assert.Equal(0, client.Statistics.InFlight);
        Assert.True(client.Statistics.RequestsSent >= 2 * callers + 1);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task WindowOfOne_QueuesCallersWithoutDroppingAny(string kind)
    {
        IDaemonUnderTest daemon = await pool.GetAsync(kind);
        await using XenstoreClient client = await XenstoreClient.ConnectAsync(
            new XenstoreClientOptions { Path = daemon.SocketPath, MaxInFlight = 1 });
        string root = TestPaths.Unique("window");
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => client.WriteAsync($"{root}/{i}", "x")));
        Assert.Equal(100, (await client.ListAsync(root)).Length);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task ErrorsAndSuccesses_InterleavedOnOneConnection_GoToTheirCallers(string kind)
    {
        IDaemonUnderTest daemon = await pool.GetAsync(kind);
        await using XenstoreClient client = await XenstoreClient.ConnectAsync(daemon.SocketPath);
        string root = TestPaths.Unique("mixed");
        await client.WriteAsync(root + "/present", "yes");
        Task<byte[]?>[] reads = Enumerable.Range(0, 200)
            .Select(i => client.TryReadAsync(i % 2 == 0 ? root + "/present" : root + "/absent-" + i))
            .ToArray();
        byte[]?[] results = await Task.WhenAll(reads);
        for (int i = 0; i < results.Length; i++)
        {
            if (i % 2 == 0)
            {
                Assert.Equal("yes"u8.ToArray(), results[i]);
            }
            else
            {
                Assert.Null(results[i]);
            }
        }
    }
}
