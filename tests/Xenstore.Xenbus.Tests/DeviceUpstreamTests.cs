using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// xenbusd with a xenbus-style character device as its upstream (<c>--device</c>, what dom0 has on a real host):
/// here a pseudo-terminal the test kit joins to our daemon's socket, read in the polled form xenbusd's loop uses.
/// </summary>
public sealed class DeviceUpstreamTests
{
    [Fact]
    public async Task Clients_share_the_device_with_their_own_transactions_and_watches()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        using PtyXenbusDevice device = PtyXenbusDevice.Start(daemon.SocketPath);
        await using OurXenbus xenbus = await OurXenbus.StartAsync(["--device", device.DevicePath]);
        await using RawConnection a = await RawConnection.ConnectAsync(xenbus.SocketPath);
        await using RawConnection b = await RawConnection.ConnectAsync(xenbus.SocketPath);

        Assert.True((await b.WatchAsync("/dev-upstream", "b-token")).IsOk);
        Assert.Equal(["/dev-upstream", "b-token"], (await b.NextEventAsync())!.Strings);
        uint tx = await a.StartTransactionIdAsync();
        Assert.True((await a.WriteAsync("/dev-upstream/key", "in-tx", tx)).IsOk);
        // Another client does not see a's transaction, nor may it use its id.
        Assert.Equal("ENOENT", (await b.ReadAsync("/dev-upstream/key")).ErrorName);
        Assert.Equal("ENOENT", (await b.ReadAsync("/dev-upstream/key", tx)).ErrorName);
        Assert.True((await a.TransactionEndAsync(tx, commit: true)).IsOk);
        Assert.Equal(["/dev-upstream/key", "b-token"], (await b.NextEventAsync())!.Strings);
        Assert.Equal("in-tx", (await b.ReadAsync("/dev-upstream/key")).Text);

        await using RawConnection direct = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("in-tx", (await direct.ReadAsync("/dev-upstream/key")).Text);
        Assert.True(device.MessagesForwarded > 0);
    }
}
