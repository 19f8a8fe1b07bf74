using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// The daemon under systemd (<c>Type=notify</c>): the test binds the notification socket systemd would, passes it
/// as NOTIFY_SOCKET, and reads what the daemon says: READY=1 once it serves, STATUS= lines, MAINPID= of the
/// successor during a live update (or systemd would stop the service when the old process leaves), STOPPING=1 on
/// SIGTERM.
/// </summary>
public sealed class SystemdNotifyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xs-notify-").FullName;
    private readonly Socket _notify = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public SystemdNotifyTests() => _notify.Bind(new UnixDomainSocketEndPoint(NotifyPath));

    private string NotifyPath => Path.Combine(_directory, "notify");

    /// <summary>Every datagram until one has a line starting with <paramref name="wanted"/>; fails after a timeout.</summary>
    private Task<List<string>> ReceiveUntilAsync(string wanted) =>
        ReceiveUntilAsync(received => Lines(received).Any(l => l.StartsWith(wanted, StringComparison.Ordinal)), wanted);

    private static IEnumerable<string> Lines(IEnumerable<string> messages) => messages.SelectMany(m => m.Split('\n'));

    private async Task<List<string>> ReceiveUntilAsync(Func<List<string>, bool> done, string wanted)
    {
        var received = new List<string>();
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            int length;
            try
            {
                length = await _notify.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no '{wanted}' among: {string.Join(" | ", received)}");
            }
            string message = Encoding.UTF8.GetString(buffer, 0, length);
            received.Add(message);
            if (done(received))
            {
                return received;
            }
        }
    }

    [Fact]
    public async Task ReadyOnceServing_MainPidOfTheSuccessor_StoppingOnSigterm()
    {
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = NotifyPath };
        await using OurDaemon daemon = await OurDaemon.StartWithEnvironmentAsync(environment);
        List<string> atStart = await ReceiveUntilAsync("READY=1");
        Assert.Contains(atStart, m => m.StartsWith("STATUS=serving " + daemon.SocketPath, StringComparison.Ordinal));

        await using RawConnection admin = await RawConnection.ConnectAsync(daemon);
        Assert.False((await admin.WriteAsync("/kept", "1")).IsError);
        Assert.Equal("OK", (await admin.RequestAsync(XsMessageType.Control, RawPayload.Strings("live-update", "-f", OurDaemon.DaemonDll), timeout: TimeSpan.FromSeconds(60))).Text);
        Assert.Equal("OK", (await admin.RequestAsync(XsMessageType.Control, RawPayload.Strings("live-update", "-s", "-t", "30"), timeout: TimeSpan.FromSeconds(60))).Text);
        // The successor reports READY=1 too (accepted under the unit's NotifyAccess=all), before or after its
        // predecessor's MAINPID=.
        List<string> update = await ReceiveUntilAsync(
            received => Lines(received).Any(l => l.StartsWith("MAINPID=", StringComparison.Ordinal)) && Lines(received).Contains("READY=1"),
            "MAINPID= and READY=1");
        Assert.DoesNotContain("STOPPING=1", Lines(update));
        string mainPid = Lines(update).First(l => l.StartsWith("MAINPID=", StringComparison.Ordinal));
        int successor = int.Parse(mainPid["MAINPID=".Length..], CultureInfo.InvariantCulture);
        Assert.NotEqual(daemon.ProcessId, successor);
        // The process systemd is told to follow is the one that serves now, and the one it told is gone.
        Assert.Contains("xenstored", File.ReadAllText($"/proc/{successor}/cmdline"), StringComparison.Ordinal);
        for (int i = 0; i < 100 && !daemon.HasExited; i++)
        {
            await Task.Delay(100);
        }
        Assert.True(daemon.HasExited);
        Assert.Equal("1", (await admin.ReadAsync("/kept")).Text);
        // STOPPING=1 when the successor is stopped.
        using (var kill = Process.Start("kill", ["-TERM", successor.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await ReceiveUntilAsync("STOPPING=1");
    }

    public void Dispose()
    {
        _notify.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
