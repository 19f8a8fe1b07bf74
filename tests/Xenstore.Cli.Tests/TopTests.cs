using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Xenstore.TestKit;

namespace Xenstore.Cli.Tests;

/// <summary>
/// <c>xenstore top</c>: --json and --batch parsed, a daemon without accounting refused, and the interactive view
/// driven in a real terminal (tmux: started, sent keys, its screen read).
/// </summary>
public sealed class TopTests(ToolRunner tools) : IClassFixture<ToolRunner>
{
    /// <summary>Domain 7 ("busy") writes 20 nodes and watches; domain 3 ("quiet") writes 2.</summary>
    private static async Task<(EmbeddedDaemon Daemon, List<RawConnection> Guests)> StartAsync()
    {
        EmbeddedDaemon daemon = await EmbeddedDaemon.StartAsync();
        await using RawConnection dom0 = await RawConnection.ConnectAsync(daemon.SocketPath);
        var guests = new List<RawConnection>();
        foreach ((uint domid, string name, int writes) in new[] { (3u, "quiet", 2), (7u, "busy", 20) })
        {
            await dom0.WriteAsync($"/local/domain/{domid}/name", name);
            Assert.False((await dom0.SetPermsAsync($"/local/domain/{domid}", $"n{domid}")).IsError);
            RawConnection guest = RawConnection.Over(daemon.ConnectInMemory(domid, privileged: false));
            guests.Add(guest);
            for (int i = 0; i < writes; i++)
            {
                Assert.False((await guest.WriteAsync($"/local/domain/{domid}/k{i}", "v")).IsError);
            }
            Assert.False((await guest.WatchAsync($"/local/domain/{domid}/k0", "busy-watch")).IsError);
        }
        return (daemon, guests);
    }

    private static async Task DisposeAsync((EmbeddedDaemon Daemon, List<RawConnection> Guests) host)
    {
        foreach (RawConnection guest in host.Guests)
        {
            await guest.DisposeAsync();
        }
        await host.Daemon.DisposeAsync();
    }

    [Fact]
    public async Task Json_OnceWithADomainsArray()
    {
        var host = await StartAsync();
        try
        {
            ToolResult top = await tools.RunOursAsync(host.Daemon.SocketPath, ["xenstore", "top", "--json"]);
            Assert.True(top.ExitCode == 0, top.ToString());
            using JsonDocument json = JsonDocument.Parse(top.Stdout);
            JsonElement[] domains = json.RootElement.GetProperty("domains").EnumerateArray().ToArray();
            JsonElement busy = domains.Single(d => d.GetProperty("domid").GetUInt32() == 7);
            Assert.Equal("busy", busy.GetProperty("name").GetString());
            Assert.Equal(21, busy.GetProperty("nodes").GetInt64());
            Assert.Equal(1, busy.GetProperty("watches").GetInt64());
            Assert.Equal(0, busy.GetProperty("transactions").GetInt64());
            Assert.Equal(0, busy.GetProperty("refusals").GetInt64());
            Assert.True(busy.GetProperty("requests_per_s").GetInt64() >= 0);
            Assert.Equal(3, domains.Single(d => d.GetProperty("domid").GetUInt32() == 3).GetProperty("nodes").GetInt64());
        }
        finally
        {
            await DisposeAsync(host);
        }
    }

    [Fact]
    public async Task Batch_PrintsTheTablePeriodically()
    {
        var host = await StartAsync();
        try
        {
            ToolResult top = await tools.RunOursAsync(host.Daemon.SocketPath, ["xenstore", "top", "-b", "-n", "2", "-d", "0.1", "-s", "n"]);
            Assert.True(top.ExitCode == 0, top.ToString());
            string[] frames = Encoding.ASCII.GetString(top.Stdout).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, frames.Length);
            foreach (string frame in frames)
            {
                string[] lines = frame.Split('\n');
                Assert.StartsWith("xenstore top - ", lines[0], StringComparison.Ordinal);
                Assert.EndsWith("sorted by nodes", lines[0], StringComparison.Ordinal);
                Assert.StartsWith("DOMID NAME", lines[1], StringComparison.Ordinal);
                // Sorted by nodes: the busy guest's 21 first, then the quiet one's 3.
                string[][] rows = lines.Skip(2).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
                Assert.Equal(["7", "busy", "21"], rows[0].Take(3));
                Assert.Contains(rows, r => r.Take(3).SequenceEqual(["3", "quiet", "3"]));
            }
        }
        finally
        {
            await DisposeAsync(host);
        }
    }

    /// <summary>
    /// Through xenbusd on a disaggregated host (our daemon as the Xenstore domain, xenbusd over dom0's ring): the
    /// CONTROL requests are forwarded like any other, and every client of xenbusd is counted in its one upstream
    /// connection, dom0's ring.
    /// </summary>
    [Fact]
    public async Task ThroughXenbusd_ShowsDom0sRingWithEveryClientsLoad()
    {
        await using OurXenbus xenbusd = await OurXenbus.OverXenstoreDomainAsync();
        JsonElement before = await Dom0ThroughAsync(xenbusd.SocketPath);
        await using (RawConnection client = await RawConnection.ConnectAsync(xenbusd.SocketPath))
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.False((await client.WriteAsync($"/top-through-xenbusd/k{i}", "v")).IsError);
            }
            Assert.False((await client.WatchAsync("/top-through-xenbusd", "w")).IsError);
            JsonElement after = await Dom0ThroughAsync(xenbusd.SocketPath);
            // The path's own node and its five children, one more watch: all dom0's, through the one ring.
            Assert.Equal(before.GetProperty("nodes").GetInt64() + 6, after.GetProperty("nodes").GetInt64());
            Assert.Equal(before.GetProperty("watches").GetInt64() + 1, after.GetProperty("watches").GetInt64());
            Assert.True(after.GetProperty("requests").GetInt64() >= before.GetProperty("requests").GetInt64() + 6);
        }
        ToolResult batch = await tools.RunOursAsync(xenbusd.SocketPath, ["xenstore", "top", "-b", "-n", "1"]);
        Assert.True(batch.ExitCode == 0, batch.ToString());
        string[] lines = Encoding.ASCII.GetString(batch.Stdout).Split('\n');
        Assert.StartsWith("DOMID NAME", lines[1], StringComparison.Ordinal);
        Assert.Equal("0", lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]);
    }

    /// <summary>Domain 0's object of <c>xenstore top --json</c> through <paramref name="socket"/>; its one connection is a ring.</summary>
    private async Task<JsonElement> Dom0ThroughAsync(string socket)
    {
        ToolResult top = await tools.RunOursAsync(socket, ["xenstore", "top", "--json"]);
        Assert.True(top.ExitCode == 0, top.ToString());
        using JsonDocument json = JsonDocument.Parse(top.Stdout);
        JsonElement connection = Assert.Single(json.RootElement.GetProperty("connections").EnumerateArray(), c => c.GetProperty("domid").GetUInt32() == 0);
        Assert.Equal("ring", connection.GetProperty("transport").GetString());
        return json.RootElement.GetProperty("domains").EnumerateArray().Single(d => d.GetProperty("domid").GetUInt32() == 0).Clone();
    }

    [Fact]
    public async Task DaemonWithoutAccounting_SaysSoAndExits2()
    {
        await using ReferenceDaemon c = await ReferenceDaemon.StartOrSkipAsync("c");
        ToolResult top = await tools.RunOursAsync(c.SocketPath, ["xenstore", "top", "--json"]);
        Assert.Equal(2, top.ExitCode);
        Assert.Contains("no per-domain accounting", Encoding.ASCII.GetString(top.Stderr), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interactive_InATerminal_BusiestFirst_DrillsIntoIt()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/tmux"), "tmux is not installed (apt-get install tmux)");
        var host = await StartAsync();
        string server = "xs-top-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            string command = $"XENSTORED_PATH={host.Daemon.SocketPath} exec {ToolRunner.OurAppHost} top";
            await TmuxAsync(server, "new-session", "-d", "-s", "top", "-x", "150", "-y", "40", command);
            // Sorted by load: once the workload's seconds are over, by requests in total: the busy guest leads.
            string screen = await ScreenUntilAsync(server, s => FirstRow(s)?.StartsWith("7 busy", StringComparison.Ordinal) == true);
            Assert.Contains("DOMID NAME", screen, StringComparison.Ordinal);
            Assert.Contains("sorted by req/s", screen, StringComparison.Ordinal);

            // 'd' sorts by domid: dom0 first.
            await TmuxAsync(server, "send-keys", "-t", "top", "d");
            await ScreenUntilAsync(server, s => s.Contains("sorted by domid", StringComparison.Ordinal) && FirstRow(s)?.StartsWith("0 ", StringComparison.Ordinal) == true);

            // Back to load, then enter: the selected (first) row's connections and watches.
            await TmuxAsync(server, "send-keys", "-t", "top", "r");
            await ScreenUntilAsync(server, s => FirstRow(s)?.StartsWith("7 busy", StringComparison.Ordinal) == true);
            await TmuxAsync(server, "send-keys", "-t", "top", "Enter");
            screen = await ScreenUntilAsync(server, s => s.Contains("Watches:", StringComparison.Ordinal));
            Assert.Contains("Domain 7 (busy)", screen, StringComparison.Ordinal);
            Assert.Contains("nodes 21", screen, StringComparison.Ordinal);
            Assert.Matches(@"\n +\d+ memory ", screen);
            Assert.Contains("/local/domain/7/k0 busy-watch", screen, StringComparison.Ordinal);

            await TmuxAsync(server, "send-keys", "-t", "top", "Escape");
            await ScreenUntilAsync(server, s => s.Contains("DOMID NAME", StringComparison.Ordinal));
            await TmuxAsync(server, "send-keys", "-t", "top", "q");
            await ScreenUntilAsync(server, s => !s.Contains("xenstore top -", StringComparison.Ordinal), allowGone: true);
        }
        finally
        {
            await TmuxAsync(server, "kill-server");
            await DisposeAsync(host);
        }
    }

    /// <summary>The first row of the domain table, its columns single-spaced.</summary>
    private static string? FirstRow(string screen)
    {
        string[] lines = screen.Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith("DOMID NAME", StringComparison.Ordinal));
        return header < 0 || header + 1 >= lines.Length ? null : string.Join(' ', lines[header + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Reads the pane until <paramref name="condition"/> holds (the view refreshes each second).</summary>
    private static async Task<string> ScreenUntilAsync(string server, Func<string, bool> condition, bool allowGone = false)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string screen = "";
        while (DateTime.UtcNow < deadline)
        {
            (int code, string text) = await RunTmuxAsync(server, "capture-pane", "-p", "-t", "top");
            if (code != 0 && allowGone)
            {
                return "";
            }
            screen = text;
            if (condition(screen))
            {
                return screen;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the screen never showed what was expected:\n" + screen);
        return screen;
    }

    private static async Task TmuxAsync(string server, params string[] args) => await RunTmuxAsync(server, args);

    private static async Task<(int Code, string Output)> RunTmuxAsync(string server, params string[] args)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-L");
        info.ArgumentList.Add(server);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["TERM"] = "xterm-256color";
        using Process process = Process.Start(info)!;
        string text = await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, text.ToString(CultureInfo.InvariantCulture));
    }
}
