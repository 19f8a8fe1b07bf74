using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// The disaggregated host: our daemon as the Xenstore domain (no socket), xenbusd over dom0's ring, dom0's tools
/// as clients of xenbusd, a guest on its own ring.
/// </summary>
public sealed class Dom0RingTests
{
    [Fact]
    public async Task Dom0s_clients_share_its_ring_through_xenbusd()
    {
        string simulation = Directory.CreateTempSubdirectory("xs-xsdom-").FullName;
        await using OurDaemon daemon = await OurDaemon.StartXenstoreDomainAsync(simulation);
        await using OurXenbus xenbus = await OurXenbus.StartAsync(["--sim-dir", simulation, "--domain", "0"]);
        await using RawConnection toolstack = await RawConnection.ConnectAsync(xenbus.SocketPath);
        await using RawConnection watcher = await RawConnection.ConnectAsync(xenbus.SocketPath);

        // Full privilege, as dom0.
        Assert.True((await toolstack.WriteAsync("/tool/x", "1")).IsOk);
        Assert.Equal("T", (await toolstack.RequestAsync(XsMessageType.IsDomainIntroduced, RawPayload.Strings("0"))).Text);
        Assert.True((await watcher.WatchAsync("@introduceDomain", "intro")).IsOk);
        Assert.Equal(["@introduceDomain", "intro"], (await watcher.NextEventAsync())!.Strings);

        // The toolstack creates a guest in a transaction and introduces it; the guest reads over its own ring.
        using SimulatedGuest guest = SimulatedGuest.Create(simulation, 5);
        while (true)
        {
            uint tx = await toolstack.StartTransactionIdAsync();
            Assert.True((await toolstack.WriteAsync("/local/domain/5/name", "guest5", tx)).IsOk);
            Assert.True((await toolstack.SetPermsInTransactionAsync(tx, "/local/domain/5", "n0", "r5")).IsOk);
            Assert.True((await toolstack.SetPermsInTransactionAsync(tx, "/local/domain/5/name", "n0", "r5")).IsOk);
            RawMessage end = await toolstack.TransactionEndAsync(tx, commit: true);
            if (end.ErrorName != "EAGAIN")
            {
                Assert.True(end.IsOk, end.Describe());
                break;
            }
        }
        Assert.Equal("OK", (await toolstack.RequestAsync(XsMessageType.Introduce, RawPayload.Strings("5", "0", "7"))).Text);
        Assert.Equal(["@introduceDomain", "intro"], (await watcher.NextEventAsync())!.Strings);
        Assert.Equal("guest5", guest.Request(XsMessageType.Read, "name").Text);

        if (File.Exists("/usr/bin/xenstore-ls"))
        {
            ProcessResult listed = await ExternalProcess.RunAsync("/usr/bin/xenstore-ls", ["/local/domain/5"], xenbus.SocketPath);
            Assert.Equal((0, "name = \"guest5\"\n"), (listed.ExitCode, listed.StdOut));
        }
        Directory.Delete(simulation, recursive: true);
    }
}
