using System.Diagnostics;
using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Restart without dropping clients: a client under continuous load with a watch registered sees every request
/// answered and its watch still registered across the hand-over to a new daemon process.
/// </summary>
public sealed class LiveUpdateTests
{
    [Fact]
    public async Task LiveUpdate_KeepsConnectionsWatchesAndState()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection watcher = await RawConnection.ConnectAsync(daemon);
        await using RawConnection loaded = await RawConnection.ConnectAsync(daemon);
        await using RawConnection admin = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("OK", (await watcher.WatchAsync("/lu", "w")).Text);
        Assert.NotNull(await watcher.NextEventAsync());
        Assert.False((await loaded.WriteAsync("/lu/before", "1")).IsError);
        Assert.NotNull(await watcher.NextEventAsync());

        using var stop = new CancellationTokenSource();
        long answered = 0;
        var slowest = TimeSpan.Zero;
        Task load = Task.Run(async () =>
        {
            long i = 0;
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.StartNew();
                // A node of its own per write: each one acknowledged must be there after the hand-over (those made
                // while the new daemon loaded the state come to it from the journal it catches up on).
                string value = (++i).ToString(CultureInfo.InvariantCulture);
                RawMessage reply = await loaded.WriteAsync("/lu/w/" + value, value);
                Assert.False(reply.IsError, reply.ErrorName);
                slowest = started.Elapsed > slowest ? started.Elapsed : slowest;
                answered++;
            }
        });
        await Task.Delay(300);
        Assert.Equal("OK", (await admin.ControlAsync("live-update", "-f", OurDaemon.DaemonDll)).Text);
        RawMessage started = await admin.ControlAsync("live-update", "-s", "-t", "30");
        Assert.Equal("OK", started.Text);
        // The old process leaves once the new one has taken over.
        await WaitUntilAsync(() => daemon.HasExited);
        long before = answered;
        await Task.Delay(300);
        await stop.CancelAsync();
        await load;
        Assert.True(answered > before, "no request was answered after the hand-over");

        // The same connections work, the watch is still registered, and the state is all there.
        Assert.Equal("1", (await loaded.ReadAsync("/lu/before")).Text);
        for (long i = 1; i <= answered; i += i % 10 == 0 || answered - i < 20 ? 1 : 10 - (i % 10))
        {
            string value = i.ToString(CultureInfo.InvariantCulture);
            Assert.Equal(value, (await loaded.ReadAsync("/lu/w/" + value)).Text);
        }
        watcher.DrainEvents();
        Assert.False((await admin.WriteAsync("/lu/after", "2")).IsError);
        RawMessage? evt = await watcher.NextEventAsync();
        Assert.NotNull(evt);
        Assert.Equal(["/lu/after", "w"], evt!.Strings);
        Assert.Equal("OK", (await admin.ControlAsync("check")).Text);
        // New connections are accepted on the same socket.
        await using RawConnection late = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("2", (await late.ReadAsync("/lu/after")).Text);
        TestContext.Current.SendDiagnosticMessage($"live update: {answered} writes answered, slowest {slowest.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task LiveUpdate_IsRefusedWhileTransactionsAreOpen_UnlessForced()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        uint tx = await client.StartTransactionIdAsync();
        Assert.Equal("BUSY", (await client.ControlAsync("live-update", "-s")).Text);
        Assert.False(daemon.HasExited);
        Assert.Equal("OK", (await client.TransactionEndAsync(tx, commit: false)).Text);
        Assert.Equal("OK", (await client.ControlAsync("live-update", "-s", "-F")).Text);
        await WaitUntilAsync(() => daemon.HasExited);
        Assert.Equal("EINVAL", (await client.ControlAsync("live-update", "-x")).ErrorName);
    }

    [Fact]
    public async Task LiveUpdate_WithABrokenBinary_CarriesOn()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        await client.WriteAsync("/lu2/x", "1");
        Assert.Equal("OK", (await client.ControlAsync("live-update", "-f", "/nonexistent/xenstored")).Text);
        RawMessage reply = await client.ControlAsync("live-update", "-s");
        Assert.StartsWith("live update failed", reply.Text, StringComparison.Ordinal);
        Assert.False(daemon.HasExited);
        Assert.Equal("1", (await client.ReadAsync("/lu2/x")).Text);
        await using RawConnection other = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("1", (await other.ReadAsync("/lu2/x")).Text);
    }

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.TrueAsync(condition, TimeSpan.FromSeconds(60));
}
