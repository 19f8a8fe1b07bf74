using Xenstore.Client.Internal;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

/// <summary>The xenbus device transport, against a pseudo-terminal stand-in bridged to our daemon.</summary>
public sealed class XenbusDeviceTests(DaemonPool pool)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Device_CarriesRequestsWatchesTransactionsAndPipelining()
    {
        IDaemonUnderTest daemon = await pool.GetAsync("ours");
        using PtyXenbusDevice device = PtyXenbusDevice.Start(daemon.SocketPath);
        await using XenstoreClient client = await XenstoreClient.ConnectDeviceAsync(device.DevicePath,
            new XenstoreClientOptions { RequestTimeout = s_wait });
        Assert.Equal(device.DevicePath, client.Path);
        string root = TestPaths.Unique("xenbus");

        await client.WriteAsync(root + "/a", "1");
        Assert.Equal("1", await client.ReadStringAsync(root + "/a"));
        await Assert.ThrowsAsync<XenstoreNotFoundException>(() => client.ReadAsync(root + "/missing"));

        await using XenstoreWatch watch = await client.WatchAsync(root);
        Assert.Equal(root, (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        await client.WriteAsync(root + "/b", "2");
        Assert.Equal(root + "/b", (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);

        int committed = await client.RunTransactionAsync(async (tx, ct) =>
        {
            await tx.WriteAsync(root + "/c", "3", ct);
            return 1;
        });
        Assert.Equal(1, committed);
        Assert.Equal("3", await client.ReadStringAsync(root + "/c"));

        int before = device.MessagesForwarded;
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => client.WriteAsync($"{root}/p/{i}", new string('v', 200))));
        Assert.Equal(100, (await client.ListAsync(root + "/p")).Length);
        // Every message reached the stand-in whole (it forwards only complete frames).
        Assert.True(device.MessagesForwarded >= before + 101);
    }

    [Fact]
    public async Task Device_UnderDev_IsFoundByPathAlone()
    {
        IDaemonUnderTest daemon = await pool.GetAsync("ours");
        using PtyXenbusDevice device = PtyXenbusDevice.Start(daemon.SocketPath);
        Assert.StartsWith("/dev/", device.DevicePath, StringComparison.Ordinal);
        await using XenstoreClient client = await XenstoreClient.ConnectAsync(device.DevicePath);
        Assert.Equal("/local/domain/3", await client.GetDomainPathAsync(3));
    }

    [Fact]
    public async Task Device_ThatGoesAway_FailsTheClient()
    {
        IDaemonUnderTest daemon = await pool.GetAsync("ours");
        PtyXenbusDevice device = PtyXenbusDevice.Start(daemon.SocketPath);
        await using XenstoreClient client = await XenstoreClient.ConnectDeviceAsync(device.DevicePath,
            new XenstoreClientOptions { RequestTimeout = s_wait });
        Assert.Equal("/local/domain/0", await client.GetDomainPathAsync(0));
        device.Dispose();
        Assert.True(SpinWait.SpinUntil(() => !client.IsConnected, s_wait), "the client did not notice");
        await Assert.ThrowsAsync<XenstoreConnectionException>(() => client.ReadAsync("/tool"));
    }

    [Fact]
    public async Task Device_Missing_CannotConnect()
    {
        XenstoreConnectionException e = await Assert.ThrowsAsync<XenstoreConnectionException>(
            () => XenstoreClient.ConnectDeviceAsync("/nonexistent/xenbus"));
        Assert.IsType<FileNotFoundException>(e.InnerException);
    }

    [Fact]
    public void Messages_CutsABatchIntoWholeMessages()
    {
        byte[] first = new byte[XsConstants.HeaderSize + 5];
        FrameParser.Write(first, XsMessageType.Read, 1, 0, "/abc\0"u8);
        byte[] second = new byte[XsConstants.HeaderSize];
        FrameParser.Write(second, XsMessageType.TransactionStart, 2, 0, []);
        byte[] batch = [.. first, .. second, 1, 2, 3];
        Range[] messages = [.. DeviceStream.Messages(batch)];
        Assert.Equal([0..21, 21..37, 37..40], messages);
    }
}
