using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// xenbusd over a guest's ring of the simulated hypervisor: our daemon with --sim-dir, dom0 doing what a toolstack
/// does (home, permissions, INTRODUCE), xenbusd as that guest. The guest's quotas apply to the one ring, so
/// xenbusd's admission control matters here; the daemon's restart behind the unchanged ring is the reconnection case.
/// </summary>
public sealed class RingUpstreamTests
{
    private const uint Guest = 5;

    private sealed class Host : IAsyncDisposable
    {
        public required string SimDirectory { get; init; }

        public required string StateDirectory { get; init; }

        public required OurDaemon Daemon { get; set; }

        public required SimulatedGuest Page { get; init; }

        public OurXenbus Xenbus { get; set; } = null!;

        public static async Task<Host> StartAsync(params string[] xenbusArgs)
        {
            string sim = Directory.CreateTempSubdirectory("xs-sim-").FullName;
            string state = Directory.CreateTempSubdirectory("xs-state-").FullName;
            OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", sim, "--state-dir", state);
            var host = new Host { SimDirectory = sim, StateDirectory = state, Daemon = daemon, Page = SimulatedGuest.Create(sim, Guest) };
            await using (RawConnection dom0 = await RawConnection.ConnectAsync(daemon.SocketPath))
            {
                string home = $"/local/domain/{Guest}";
                Assert.True((await dom0.WriteAsync(home + "/name", "guest")).IsOk);
                Assert.True((await dom0.SetPermsAsync(home, "n0", $"r{Guest}")).IsOk);
                Assert.True((await dom0.SetPermsAsync(home + "/name", "n0", $"r{Guest}")).IsOk);
                Assert.True((await dom0.MkdirAsync(home + "/data")).IsOk);
                Assert.True((await dom0.SetPermsAsync(home + "/data", $"n{Guest}")).IsOk);
                Assert.Equal("OK", (await dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings($"{Guest}", "0", "7"))).Text);
            }
            host.Xenbus = await OurXenbus.StartAsync(["--sim-dir", sim, "--domain", $"{Guest}", .. xenbusArgs]);
            return host;
        }

        public Task<RawConnection> ConnectAsync() => RawConnection.ConnectAsync(Xenbus.SocketPath);

        public Task<RawConnection> Dom0Async() => RawConnection.ConnectAsync(Daemon.SocketPath);

        public async ValueTask DisposeAsync()
        {
            await Xenbus.DisposeAsync();
            Page.Dispose();
            await Daemon.DisposeAsync();
            foreach (string dir in new[] { SimDirectory, StateDirectory })
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (IOException)
                {
                    // Left behind.
                }
            }
        }
    }

    [Fact]
    public async Task Clients_act_as_the_guest_over_its_ring()
    {
        await using Host host = await Host.StartAsync();
        await using RawConnection a = await host.ConnectAsync();
        await using RawConnection b = await host.ConnectAsync();
        Assert.Equal("guest", (await a.ReadAsync("name")).Text);
        Assert.Equal("EACCES", (await a.WriteAsync("name", "x")).ErrorName);
        Assert.True((await b.WatchAsync("data", "mine")).IsOk);
        Assert.Equal(["data", "mine"], (await b.NextEventAsync())!.Strings);
        Assert.True((await a.WriteAsync("data/ip", "10.0.0.5")).IsOk);
        Assert.Equal(["data/ip", "mine"], (await b.NextEventAsync())!.Strings);
        await using RawConnection dom0 = await host.Dom0Async();
        Assert.Equal("10.0.0.5", (await dom0.ReadAsync($"/local/domain/{Guest}/data/ip")).Text);
        Assert.Equal(["n5"], (await a.GetPermsAsync("data/ip")).Strings);
    }

    [Fact]
    public async Task Transactions_beyond_the_guests_quota_wait_instead_of_failing()
    {
        await using Host host = await Host.StartAsync();
        var clients = new List<RawConnection>();
        for (int i = 0; i < 25; i++)
        {
            clients.Add(await host.ConnectAsync());
        }
        try
        {
            // 25 clients, each in its own transaction, against a quota of 10 open transactions for the domain.
            int conflicts = 0;
            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                for (int round = 0; round < 4; round++)
                {
                    while (true)
                    {
                        RawMessage start = await client.TransactionStartAsync();
                        Assert.False(start.IsError, start.Describe());
                        uint tx = start.TransactionId;
                        Assert.True((await client.WriteAsync($"data/c{i}", "r" + round, tx)).IsOk);
                        await Task.Delay(5);
                        RawMessage end = await client.TransactionEndAsync(tx, commit: true);
                        if (end.ErrorName == "EAGAIN")
                        {
                            Interlocked.Increment(ref conflicts);
                            continue;
                        }
                        Assert.True(end.IsOk, end.Describe());
                        break;
                    }
                }
            }));
            await using RawConnection dom0 = await host.Dom0Async();
            Assert.Equal("r3", (await dom0.ReadAsync($"/local/domain/{Guest}/data/c24")).Text);
        }
        finally
        {
            foreach (RawConnection client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_client_holding_every_transaction_gets_the_daemons_errno()
    {
        await using Host host = await Host.StartAsync();
        await using RawConnection greedy = await host.ConnectAsync();
        for (int i = 0; i < 10; i++)
        {
            Assert.False((await greedy.TransactionStartAsync()).IsError);
        }
        // Nobody else holds one, so waiting cannot help: the daemon's own answer comes back at once.
        Assert.Equal("ENOSPC", (await greedy.TransactionStartAsync()).ErrorName);
        await using RawConnection other = await host.ConnectAsync();
        Assert.Equal("guest", (await other.ReadAsync("name")).Text);
    }

    [Fact]
    public async Task Many_requests_in_flight_stay_within_the_outstanding_quota()
    {
        await using Host host = await Host.StartAsync();
        var clients = new List<RawConnection>();
        for (int i = 0; i < 20; i++)
        {
            clients.Add(await host.ConnectAsync());
        }
        try
        {
            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                for (uint r = 0; r < 20; r++)
                {
                    await client.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"data/o{i}", System.Text.Encoding.ASCII.GetBytes("" + r)), reqId: r);
                }
                for (uint r = 0; r < 20; r++)
                {
                    RawMessage reply = await client.NextReplyAsync();
                    Assert.Equal((XsMessageType.Write, r, "OK"), (reply.Type, reply.ReqId, reply.Text));
                }
            }));
        }
        finally
        {
            foreach (RawConnection client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_daemon_restart_behind_the_ring_renews_the_session()
    {
        await using Host host = await Host.StartAsync("--probe-interval", "0.2");
        await using RawConnection watcher = await host.ConnectAsync();
        await using RawConnection writer = await host.ConnectAsync();
        Assert.True((await watcher.WatchAsync("data/w", "tok")).IsOk);
        Assert.Equal(["data/w", "tok"], (await watcher.NextEventAsync())!.Strings);
        uint tx = await writer.StartTransactionIdAsync();
        Assert.True((await writer.WriteAsync("data/in-tx", "1", tx)).IsOk);

        await host.Daemon.KillAsync();
        OurDaemon restarted = await OurDaemon.StartAsync("--sim-dir", host.SimDirectory, "--state-dir", host.StateDirectory);
        await host.Daemon.DisposeAsync();
        host.Daemon = restarted;

        // The transaction died with the old daemon: its commit is a conflict to retry; nothing hangs.
        RawMessage commit = await writer.TransactionEndAsync(tx, commit: true);
        Assert.Equal("EAGAIN", commit.ErrorName);
        Assert.Equal("ENOENT", (await writer.ReadAsync("data/in-tx")).ErrorName);
        // The watch was registered again: its initial event, then a change made by dom0, arrive.
        await using RawConnection dom0 = await host.Dom0Async();
        RawMessage? renewed = await watcher.NextEventAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(["data/w", "tok"], renewed!.Strings);
        Assert.True((await dom0.WriteAsync($"/local/domain/{Guest}/data/w", "after")).IsOk);
        Assert.Equal(["data/w", "tok"], (await watcher.NextEventAsync())!.Strings);
        Assert.Equal("after", (await writer.ReadAsync("data/w")).Text);
    }
}
