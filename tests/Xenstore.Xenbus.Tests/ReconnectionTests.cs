using System.Globalization;
using Xenstore.Protocol;
using Xenstore.Server;
using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// The upstream goes away and comes back (a restart on the same socket, a live update), or stays away: clients keep
/// their connections to xenbusd, watches are registered again, open transactions are EAGAIN at commit, and no
/// request hangs.
/// </summary>
public sealed class ReconnectionTests
{
    private static Task<EmbeddedDaemon> StartEmbeddedAsync(string socket, string state) =>
        EmbeddedDaemon.StartAsync(options => options with { SocketPath = socket, StateDirectory = state });

    [Fact]
    public async Task A_daemon_restarted_on_the_same_socket_is_reconnected_to()
    {
        string directory = Directory.CreateTempSubdirectory("xs-reconnect-").FullName;
        string socket = Path.Combine(directory, "socket");
        string state = Path.Combine(directory, "state");
        EmbeddedDaemon first = await StartEmbeddedAsync(socket, state);
        // Whether the stopping server closes its clients' sockets or leaves them silent (as a hung daemon would),
        // xenbusd connects again: the short upstream timeout covers the silent case.
        await using OurXenbus xenbus = await OurXenbus.StartAsync(["--upstream-socket", socket, "--upstream-timeout", "2"]);
        await using RawConnection watcher = await RawConnection.ConnectAsync(xenbus.SocketPath);
        await using RawConnection client = await RawConnection.ConnectAsync(xenbus.SocketPath);
        Assert.True((await watcher.WatchAsync("/rc", "w")).IsOk);
        Assert.Equal(["/rc", "w"], (await watcher.NextEventAsync())!.Strings);
        Assert.True((await client.WriteAsync("/rc/before", "1")).IsOk);
        Assert.Equal(["/rc/before", "w"], (await watcher.NextEventAsync())!.Strings);
        uint tx = await client.StartTransactionIdAsync();
        Assert.True((await client.WriteAsync("/rc/in-tx", "1", tx)).IsOk);

        await first.DisposeAsync();
        // Sent while there is no daemon: it waits for the next one.
        uint pending = await client.SendRequestAsync(XsMessageType.Read, RawPayload.Strings("/rc/before"));
        await using EmbeddedDaemon second = await StartEmbeddedAsync(socket, state);

        RawMessage read;
        try
        {
            read = await client.NextReplyAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            Assert.Fail(string.Join('\n', xenbus.LogLines));
            throw;
        }
        Assert.Equal((pending, "1"), (read.ReqId, read.Text));
        Assert.Equal("EAGAIN", (await client.TransactionEndAsync(tx, commit: true)).ErrorName);
        Assert.Equal(["/rc", "w"], (await watcher.NextEventAsync())!.Strings);
        Assert.True((await client.WriteAsync("/rc/after", "2")).IsOk);
        Assert.Equal(["/rc/after", "w"], (await watcher.NextEventAsync())!.Strings);
        Assert.Equal("ENOENT", (await client.ReadAsync("/rc/in-tx")).ErrorName);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Requests_fail_with_eio_when_the_upstream_stays_away()
    {
        OurDaemon daemon = await OurDaemon.StartAsync();
        await using OurXenbus xenbus = await OurXenbus.OverSocketAsync(daemon, own: false, "--upstream-timeout", "1");
        await using RawConnection client = await RawConnection.ConnectAsync(xenbus.SocketPath);
        Assert.True((await client.WriteAsync("/gone/x", "1")).IsOk);
        await daemon.KillAsync();
        await daemon.DisposeAsync();
        RawMessage reply = await client.ReadAsync("/gone/x");
        Assert.Equal("EIO", reply.ErrorName);
        Assert.Equal("EIO", (await client.ReadAsync("/gone/x")).ErrorName);
        // xenbusd itself is still there for its clients.
        await using RawConnection late = await RawConnection.ConnectAsync(xenbus.SocketPath);
        Assert.Equal("EIO", (await late.ReadAsync("/")).ErrorName);
    }

    [Fact]
    public async Task A_live_update_under_load_through_xenbusd_loses_nothing()
    {
        await using OurXenbus xenbus = await OurXenbus.StartWithDaemonAsync();
        await using RawConnection watcher = await RawConnection.ConnectAsync(xenbus.SocketPath);
        await using RawConnection admin = await RawConnection.ConnectAsync(xenbus.SocketPath);
        Assert.True((await watcher.WatchAsync("/lu", "w")).IsOk);
        await watcher.NextEventAsync();
        var writers = new List<RawConnection>();
        for (int i = 0; i < 8; i++)
        {
            writers.Add(await RawConnection.ConnectAsync(xenbus.SocketPath));
        }
        using var stop = new CancellationTokenSource();
        long answered = 0;
        Task[] load = writers.Select((writer, w) => Task.Run(async () =>
        {
            long i = 0;
            while (!stop.IsCancellationRequested)
            {
                RawMessage reply = await writer.WriteAsync($"/lu/w{w}", (++i).ToString(CultureInfo.InvariantCulture));
                Assert.True(reply.IsOk, reply.Describe());
                Interlocked.Increment(ref answered);
            }
        })).ToArray();
        await Task.Delay(300);
        Assert.Equal("OK", (await admin.RequestAsync(XsMessageType.Control, RawPayload.Strings("live-update", "-f", OurDaemon.DaemonDll), timeout: TimeSpan.FromSeconds(60))).Text);
        RawMessage started = await admin.RequestAsync(XsMessageType.Control, RawPayload.Strings("live-update", "-s", "-t", "30"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(started.Text == "OK", started.Text + "\n" + string.Join('\n', xenbus.LogLines));
        long before = Interlocked.Read(ref answered);
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.True(Interlocked.Read(ref answered) > before, "no request was answered after the hand-over");
        foreach (RawConnection writer in writers)
        {
            await writer.DisposeAsync();
        }
        // The watch is still there (the daemon handed it over; xenbusd saw no new session).
        while (watcher.Events.TryRead(out _))
        {
        }
        Assert.True((await admin.WriteAsync("/lu/after", "1")).IsOk);
        Assert.Equal(["/lu/after", "w"], (await watcher.NextEventAsync())!.Strings);
        await watcher.SyncAsync();
        Assert.False(watcher.Events.TryRead(out RawMessage? extra), extra?.Describe());
    }

    [Fact]
    public async Task Serialized_xenbusd_serves_many_clients_correctly()
    {
        await using OurXenbus xenbus = await OurXenbus.StartWithDaemonAsync("--serialize");
        var clients = new List<RawConnection>();
        for (int i = 0; i < 20; i++)
        {
            clients.Add(await RawConnection.ConnectAsync(xenbus.SocketPath));
        }
        await Task.WhenAll(clients.Select(async (client, i) =>
        {
            Assert.True((await client.WatchAsync($"/ser/{i}", "t")).IsOk);
            Assert.Equal([$"/ser/{i}", "t"], (await client.NextEventAsync())!.Strings);
            for (uint r = 0; r < 10; r++)
            {
                await client.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"/ser/{i}", System.Text.Encoding.ASCII.GetBytes("v" + r)), reqId: r);
            }
            for (uint r = 0; r < 10; r++)
            {
                Assert.Equal(r, (await client.NextReplyAsync()).ReqId);
            }
            Assert.Equal("v9", (await client.ReadAsync($"/ser/{i}")).Text);
        }));
        foreach (RawConnection client in clients)
        {
            await client.DisposeAsync();
        }
    }
}
