using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// The daemon's own start and stop, without a host framework: its log lines in the console's single-line form, or
/// with journald's priority prefixes when journald reads them (JOURNAL_STREAM); and every stop signal (SIGTERM,
/// SIGINT, SIGQUIT) a clean stop, exit code 0 and the state flushed, as systemd and a terminal expect.
/// </summary>
public sealed class DaemonLifetimeTests
{
    // The start-up line every daemon logs (the socket engine chosen), at the information level.
    private const string SocketsLine = "xenstored[17] Sockets: ";

    [Theory]
    [InlineData(false, "info: ")]
    [InlineData(true, "<6>")]
    public async Task LogLinesAreSingleLinesInTheConsoleOrJournaldForm(bool underJournald, string prefix)
    {
        var environment = new Dictionary<string, string>();
        if (underJournald)
        {
            environment["JOURNAL_STREAM"] = "8:12345";
        }
        await using OurDaemon daemon = await OurDaemon.StartWithEnvironmentAsync(environment);
        string line = await WaitForLogLineAsync(daemon, SocketsLine);
        Assert.Equal(prefix + SocketsLine, line[..(prefix.Length + SocketsLine.Length)]);
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    [InlineData("QUIT")]
    public async Task EveryStopSignalStopsCleanlyWithTheStateKept(string signal)
    {
        string stateDirectory = Directory.CreateTempSubdirectory("xs-stop-").FullName;
        try
        {
            await using (OurDaemon daemon = await OurDaemon.StartAsync("--state-dir", stateDirectory))
            {
                await using (RawConnection connection = await RawConnection.ConnectAsync(daemon))
                {
                    Assert.False((await connection.WriteAsync("/kept", "yes")).IsError);
                }
                Assert.Equal(0, await daemon.TerminateAsync(TimeSpan.FromSeconds(20), signal));
            }
            await using OurDaemon restarted = await OurDaemon.StartAsync("--state-dir", stateDirectory);
            await using RawConnection reader = await RawConnection.ConnectAsync(restarted);
            Assert.Equal("yes", (await reader.ReadAsync("/kept")).Text);
        }
        finally
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    private static async Task<string> WaitForLogLineAsync(OurDaemon daemon, string wanted)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            string? line = daemon.LogLines.FirstOrDefault(l => l.Contains(wanted, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }
            Assert.False(timeout.IsCancellationRequested, "no log line with '" + wanted + "' among: " + string.Join(" | ", daemon.LogLines));
            await Task.Delay(20, CancellationToken.None);
        }
    }
}
