using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// What the daemon leaves on disk is private: the state directory 0700 and every file in it 0600 (a copy of the
/// whole store), the socket 0600 as C's (every socket client is privileged), the trace file 0600, the live-update
/// hand-over (clients' bytes) never on disk; the metrics port on loopback only.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InstallModeTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.TrueAsync(condition, TimeSpan.FromSeconds(30));

    [Fact]
    public async Task StateSocketTraceAndHandover_ArePrivate_MetricsOnLoopback()
    {
        string dir = Directory.CreateTempSubdirectory("xs-modes-").FullName;
        // A state directory an older version created readable by everyone, with a file in it.
        string state = Path.Combine(dir, "state");
        Directory.CreateDirectory(state, PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        File.WriteAllText(Path.Combine(state, "left-over"), "");
        File.SetUnixFileMode(Path.Combine(state, "left-over"), (UnixFileMode)0b110_100_100);
        string trace = Path.Combine(dir, "trace");
        int metricsPort = FreeTcpPort();
        await using OurDaemon daemon = await OurDaemon.StartAsync("--state-dir", state, "--snapshot-after", "1", "-T", trace,
            "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture));
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        for (int i = 0; i < 20; i++)
        {
            Assert.False((await client.WriteAsync($"/secret/{i}", "value")).IsError);
        }
        await WaitUntilAsync(() => File.Exists(Path.Combine(state, "snapshot")));

        Assert.Equal(PrivateDirectory, File.GetUnixFileMode(state));
        string[] files = Directory.GetFiles(state);
        Assert.Contains(Path.Combine(state, "journal"), files);
        Assert.Contains(Path.Combine(state, "left-over"), files);
        Assert.All(files, f => Assert.Equal(Private, File.GetUnixFileMode(f)));
        Assert.Equal(Private, File.GetUnixFileMode(daemon.SocketPath));
        Assert.Equal(Private, File.GetUnixFileMode(trace));
        Assert.Equal(["0100007F"], ListeningAddresses(metricsPort));

        // A live update: its hand-over (clients' bytes) goes over a socket pair and never touches the disk; whatever
        // the state directory holds meanwhile is private.
        var seen = new Dictionary<string, UnixFileMode>();
        using var stop = new CancellationTokenSource();
        Task watch = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (string file in Directory.GetFiles(state))
                {
                    try
                    {
                        seen[Path.GetFileName(file)] = File.GetUnixFileMode(file);
                    }
                    catch (FileNotFoundException)
                    {
                        // Renamed meanwhile (the snapshot's temporary file).
                    }
                }
                await Task.Delay(2);
            }
        });
        Assert.Equal("OK", (await client.RequestAsync(XsMessageType.Control, RawPayload.Strings("live-update", "-f", OurDaemon.DaemonDll), timeout: TimeSpan.FromSeconds(60))).Text);
        Assert.Equal("OK", (await client.RequestAsync(XsMessageType.Control, RawPayload.Strings("live-update", "-s", "-t", "30"), timeout: TimeSpan.FromSeconds(60))).Text);
        await WaitUntilAsync(() => daemon.HasExited);
        await stop.CancelAsync();
        await watch;
        Assert.Contains("snapshot", seen.Keys);
        Assert.All(seen, f => Assert.Equal(Private, f.Value));
        Assert.DoesNotContain(seen.Keys, name => name.Contains("handover", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $"xenstored-handover-{daemon.ProcessId}*"));
        Assert.Equal("value", (await client.ReadAsync("/secret/0")).Text);
    }

    private static int FreeTcpPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>The local addresses (hex, as /proc/net/tcp shows them) listening on the port.</summary>
    private static List<string> ListeningAddresses(int port)
    {
        string portHex = port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Concat(File.ReadLines("/proc/net/tcp6")).Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 3 && f[1].EndsWith(":" + portHex, StringComparison.Ordinal) && f[3] == "0A")
            .Select(f => f[1].Split(':')[0])
            .ToList();
    }
}
