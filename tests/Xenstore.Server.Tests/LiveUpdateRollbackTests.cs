using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// A live update whose new daemon fails at each stage before it serves: it exits before standing by, it cannot
/// load the state, it dies standing by after the clients were paused for it. Each time the old
/// daemon carries on with every connection, request and watch, and the requester is told why. And one that gives
/// way to a transaction opened while its new daemon started: the retry hands over to that same daemon.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LiveUpdateRollbackTests : IDisposable
{
    // The test's scripts, gates and marker files, removed with it.
    private readonly string _directory = Directory.CreateTempSubdirectory("xs-lu-rollback-").FullName;
    private int _scripts;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>An executable bash script in a directory of its own (bash: the channel's number may have two digits).</summary>
    private string Script(string body)
    {
        string path = Path.Combine(Directory.CreateDirectory(Path.Combine(_directory, $"script{++_scripts}")).FullName, "xenstored");
        File.WriteAllText(path, "#!/bin/bash\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task A_successor_that_exits_before_standing_by_leaves_the_daemon_serving()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        Assert.False((await client.WriteAsync("/lu/x", "1")).IsError);
        Assert.Equal("OK", (await client.ControlAsync("live-update", "-f", Script("exit 7\n"))).Text);

        RawMessage reply = await client.ControlAsync("live-update", "-s");

        Assert.Equal("live update failed: the new daemon exited before it could stand by (exit status 7)", reply.Text);
        Assert.False(daemon.HasExited);
        Assert.Equal("1", (await client.ReadAsync("/lu/x")).Text);
    }

    [Fact]
    public async Task A_successor_that_dies_while_standing_by_leaves_every_client_served()
    {
        // Stands by and says it loaded the state (the old daemon then pauses its clients and hands over), and is
        // gone before it takes anything.
        string dying = Script("""
            while [ $# -gt 0 ]; do
              if [ "$1" = --live-update-state ]; then channel=$2; fi
              shift
            done
            printf S >&"$channel"
            read -r -N 1 -u "$channel" order
            printf P >&"$channel"
            exit 3
            """);
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection watcher = await RawConnection.ConnectAsync(daemon);
        await using RawConnection loaded = await RawConnection.ConnectAsync(daemon);
        await using RawConnection admin = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("OK", (await watcher.WatchAsync("/lu", "w")).Text);
        Assert.NotNull(await watcher.NextEventAsync());
        Assert.Equal("OK", (await admin.ControlAsync("live-update", "-f", dying)).Text);

        using var stop = new CancellationTokenSource();
        long answered = 0;
        Task load = Task.Run(async () =>
        {
            long i = 0;
            while (!stop.IsCancellationRequested)
            {
                RawMessage written = await loaded.WriteAsync("/lu/counter", (++i).ToString(CultureInfo.InvariantCulture));
                Assert.False(written.IsError, written.ErrorName);
                Interlocked.Increment(ref answered);
            }
        });
        RawMessage reply = await admin.ControlAsync("live-update", "-s");
        long atReply = Interlocked.Read(ref answered);
        while (Interlocked.Read(ref answered) < atReply + 10)
        {
            Assert.False(load.IsCompleted, "the writer stopped");
            await Task.Delay(10);
        }
        await stop.CancelAsync();
        await load;

        Assert.StartsWith("live update failed: ", reply.Text, StringComparison.Ordinal);
        // It failed once the clients were paused: handing over, or waiting for it to serve.
        Assert.DoesNotContain("stand by", reply.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("load the state", reply.Text, StringComparison.Ordinal);
        Assert.False(daemon.HasExited);
        Assert.Equal(answered.ToString(CultureInfo.InvariantCulture), (await admin.ReadAsync("/lu/counter")).Text);
        watcher.DrainEvents();
        Assert.False((await admin.WriteAsync("/lu/after", "2")).IsError);
        RawMessage? evt = await watcher.NextEventAsync();
        Assert.NotNull(evt);
        Assert.Equal(["/lu/after", "w"], evt!.Strings);
        // Accepting again, and the store is consistent.
        await using RawConnection late = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("2", (await late.ReadAsync("/lu/after")).Text);
        Assert.Equal("OK", (await admin.ControlAsync("check")).Text);
        Assert.Contains(daemon.LogLines, line => line.Contains("Live update failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_successor_that_cannot_load_the_state_leaves_the_daemon_serving()
    {
        string notADirectory = Path.Combine(_directory, "file");
        File.WriteAllText(notADirectory, "");
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection watcher = await RawConnection.ConnectAsync(daemon);
        await using RawConnection admin = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("OK", (await watcher.WatchAsync("/lu", "w")).Text);
        Assert.NotNull(await watcher.NextEventAsync());
        // The same binary, whose state directory cannot be read: it stands by, and fails in loading the state,
        // before the clients are paused for it.
        Assert.Equal("OK", (await admin.ControlAsync("live-update", "-f", OurDaemon.DaemonDll)).Text);
        Assert.Equal("OK", (await admin.ControlAsync("live-update", "-c", $"-N --socket {daemon.SocketPath} --state-dir {notADirectory}/state")).Text);

        RawMessage reply = await admin.ControlAsync("live-update", "-s");

        Assert.StartsWith("live update failed: the new daemon exited before it could load the state", reply.Text, StringComparison.Ordinal);
        Assert.False(daemon.HasExited);
        Assert.False((await admin.WriteAsync("/lu/after", "3")).IsError);
        RawMessage? evt = await watcher.NextEventAsync();
        Assert.NotNull(evt);
        Assert.Equal(["/lu/after", "w"], evt!.Strings);
        await using RawConnection late = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("3", (await late.ReadAsync("/lu/after")).Text);
    }

    [Fact]
    public async Task A_retry_after_a_transaction_gave_way_hands_over_to_the_successor_that_stood_by()
    {
        string gate = await GateAsync();
        string started = Path.Combine(_directory, "started");
        // The real daemon, once the test lets it go on; every start is counted.
        string successor = Script($"""
            echo $$ >> {started}
            read -r _ < {gate}
            exec dotnet {OurDaemon.DaemonDll} "$@"
            """);
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection admin = await RawConnection.ConnectAsync(daemon);
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("OK", (await admin.ControlAsync("live-update", "-f", successor)).Text);

        // Accepted with no transaction open; one starts while the new daemon starts (the old one still serves).
        Task<RawMessage> first = admin.ControlAsync("live-update", "-s");
        uint tx = await client.StartTransactionIdAsync();
        await File.WriteAllTextAsync(gate, "go\n");
        Assert.Equal("BUSY", (await first).Text);
        Assert.False(daemon.HasExited);
        Assert.Equal("OK", (await client.TransactionEndAsync(tx, commit: false)).Text);

        Assert.Equal("OK", (await admin.ControlAsync("live-update", "-s")).Text);

        await WaitUntilAsync(() => daemon.HasExited);
        string pid = Assert.Single(File.ReadAllLines(started));
        Assert.Contains(daemon.LogLines, line => line.Contains($"handed over to process {pid};", StringComparison.Ordinal));
        Assert.False((await client.WriteAsync("/lu/retried", "1")).IsError);
    }

    [Fact]
    public async Task A_daemon_stopped_while_its_successor_starts_stops_without_waiting_for_it()
    {
        string gate = await GateAsync();
        string started = Path.Combine(_directory, "started");
        // A new daemon that never stands by (until the test lets it go on, which it does not).
        string successor = Script($"""
            echo $$ > {started}.tmp && mv {started}.tmp {started}
            read -r _ < {gate}
            """);
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection admin = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("OK", (await admin.ControlAsync("live-update", "-f", successor)).Text);
        // Its answer is not awaited: the daemon may stop before it is sent.
        _ = admin.ControlAsync("live-update", "-s");
        await WaitUntilAsync(() => File.Exists(started));
        int pid = int.Parse(File.ReadAllText(started).Trim(), CultureInfo.InvariantCulture);

        // Without the interruption, the stop would wait for the new daemon's 60 s to stand by.
        Assert.Equal(0, await daemon.TerminateAsync(TimeSpan.FromSeconds(30)));

        // The new daemon was stopped with it.
        await WaitUntilAsync(() => !IsRunning(pid));
    }

    /// <summary>A named pipe a script blocks on until the test writes a line to it.</summary>
    private async Task<string> GateAsync()
    {
        string gate = Path.Combine(_directory, "gate");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [gate]))
        {
            await mkfifo.WaitForExitAsync();
        }
        return gate;
    }

    /// <summary>The process exists and is not a zombie waiting to be reaped.</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z') is false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.TrueAsync(condition, TimeSpan.FromSeconds(60));
}
