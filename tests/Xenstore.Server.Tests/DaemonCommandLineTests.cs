using System.Diagnostics;
using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>The xenstored executable: flags, exit codes, where it listens, clean shutdown.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DaemonCommandLineTests
{
    private static async Task<(int Code, string Out, string Err)> RunDaemonAsync(IDictionary<string, string>? env, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(OurDaemon.DaemonDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach ((string key, string value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--entry-nb", "many")]
    [InlineData("--quota", "nosuch=5")]
    [InlineData("--quota", "nodes")]
    [InlineData("--socket")]
    [InlineData("--guest-write-rate", "fast")]
    [InlineData("--guest-write-rate", "200:0")]
    [InlineData("--guest-write-rate", "1:2:3")]
    [InlineData("--live-update-state", "handover.json")]
    [InlineData("--live-update-state", "1")]
    public async Task BadFlag_ExitsTwoWithMessage(params string[] args)
    {
        (int code, string stdout, string stderr) = await RunDaemonAsync(null, args);
        Assert.Equal(2, code);
        Assert.StartsWith("xenstored: ", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    [Fact]
    public async Task Help_ListsCQuotaFlags()
    {
        (int code, string stdout, _) = await RunDaemonAsync(null, "--help");
        Assert.Equal(0, code);
        foreach (string flag in new[] { "--entry-nb", "--watch-nb", "--transaction", "--perm-nb", "--path-max", "--quota", "--socket" })
        {
            Assert.Contains(flag, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Sigterm_ExitsCleanlyAndRemovesSocket()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using (RawConnection client = await RawConnection.ConnectAsync(daemon))
        {
            Assert.False((await client.WriteAsync("/x", "1")).IsError);
        }
        Assert.Equal(0, await daemon.TerminateAsync(TimeSpan.FromSeconds(20)));
        Assert.False(File.Exists(daemon.SocketPath));
    }

    [Fact]
    public async Task NoSocketFlag_UsesXenstoredRundir()
    {
        string dir = Directory.CreateTempSubdirectory("xs-rundir-").FullName;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(OurDaemon.DaemonDll);
        info.ArgumentList.Add("-N");
        info.Environment["XENSTORED_RUNDIR"] = dir;
        info.Environment.Remove("XENSTORED_PATH");
        using var process = Process.Start(info)!;
        try
        {
            string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal($"xenstored: listening on {dir}/socket", line);
            await using RawConnection client = await RawConnection.ConnectAsync(Path.Combine(dir, "socket"));
            Assert.Equal("/local/domain/3", (await client.RequestAsync(XsMessageType.GetDomainPath, RawPayload.Strings("3"))).Text);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    [Theory]
    [InlineData("-K")]
    [InlineData("--keep-orphans")]
    [InlineData("-U")]
    [InlineData("--quota-soft", "nodes=5")]
    [InlineData("--timeout", "watch=5")]
    [InlineData("--trace-control", "+bogus")]
    [InlineData("-E", "2147483648")]
    [InlineData("-H", "extra")]
    public async Task COptionsThatCannotApply_ExitTwoWithMessage(params string[] args)
    {
        (int code, string stdout, string stderr) = await RunDaemonAsync(null, args);
        Assert.Equal(2, code);
        Assert.StartsWith("xenstored: ", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    [Fact]
    public async Task Help_ListsEveryCOption()
    {
        foreach (string help in new[] { "-H", "--help", "-Hx", "--he" })
        {
            (int code, string stdout, _) = await RunDaemonAsync(null, help);
            Assert.Equal(0, code);
            foreach (string option in new[] { "-F, --pid-file", "-N, --no-fork", "-T, --trace-file", "--trace-control", "-E, --entry-nb",
                "-S, --entry-size", "-W, --watch-nb", "-t, --transaction", "-A, --perm-nb", "-M, --path-max", "-Q, --quota",
                "-q, --quota-soft", "-w, --timeout", "-K, --keep-orphans", "-e, --event", "-m, --master-domid", "-p, --priv-domid",
                "-U, --live-update", "-H, --help" })
            {
                Assert.Contains(option, stdout, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task ManualPage_HasEveryOptionOfTheHelp()
    {
        (int code, string page, _) = await RunDaemonAsync(null, "--print-man-page");
        Assert.Equal(0, code);
        Assert.StartsWith(".TH XENSTORED 8", page, StringComparison.Ordinal);
        string help = (await RunDaemonAsync(null, "--help")).Out;
        string[] options = System.Text.RegularExpressions.Regex.Matches(help, @"(?<=\s)--[a-z-]+").Select(m => m.Value).Distinct().ToArray();
        Assert.Contains("--pid-file", options);
        Assert.Contains("--print-man-page", options);
        foreach (string option in options)
        {
            Assert.Contains(option.Replace("-", "\\-", StringComparison.Ordinal), page, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task COptionsWithoutEffectHere_StartWithAWarning()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync("-Q", "memory=2048", "--quota-soft=memory=1024", "-w", "watch-event=20",
            "--trace-control=+wrl", "-D", "-R", "-I", "-V");
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        Assert.False((await client.WriteAsync("/x", "1")).IsError);
        string log = string.Join('\n', daemon.LogLines);
        Assert.Contains("warning: quota memory=2048 is not enforced", log, StringComparison.Ordinal);
        Assert.Contains("warning: soft quota memory", log, StringComparison.Ordinal);
        Assert.Contains("warning: timeout watch-event", log, StringComparison.Ordinal);
        Assert.Contains("warning: trace switch wrl", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetoptForms_AttachedValuesAbbreviationsAndCQuotaNames()
    {
        // -E5 (attached), --watch=9 (an abbreviation of --watch-nb), -t 4, 4.22's path-length, -M capped at 2048.
        await using OurDaemon daemon = await OurDaemon.StartAsync("-E5", "--watch=9", "-t", "4", "-Qpath-length=100", "-A3", "-M", "99999");
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("5", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("nodes"))).Text);
        Assert.Equal("9", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("watches"))).Text);
        Assert.Equal("4", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("transactions"))).Text);
        Assert.Equal("3", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("node-permissions"))).Text);
        Assert.Equal("2048", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("path-max"))).Text);
    }

    [Fact]
    public async Task ByDefault_GoesToTheBackgroundOnceServing_WithItsPidInThePidFile()
    {
        string dir = Directory.CreateTempSubdirectory("xs-fork-").FullName;
        string socket = Path.Combine(dir, "socket");
        string pidFile = Path.Combine(dir, "run", "xenstored.pid");
        (int code, string stdout, _) = await RunDaemonAsync(null, "--socket", socket, "--pid-file", pidFile, "-P");
        Assert.Equal(0, code);
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        try
        {
            // The command has returned: the daemon serves already, under the pid the file names, in a session of
            // its own (setsid), and said so on the command's output (-P prints the pid, as 4.17 did).
            Assert.Equal($"xenstored: listening on {socket}\n{pid}\n", stdout);
            Assert.Contains("xenstored", File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal);
            string[] stat = File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ');
            Assert.Equal(pid.ToString(CultureInfo.InvariantCulture), stat[3]);
            await using (RawConnection client = await RawConnection.ConnectAsync(socket))
            {
                Assert.False((await client.WriteAsync("/forked", "yes")).IsError);
            }
        }
        finally
        {
            using (var kill = Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
        }
    }

    [Fact]
    public async Task SigtermInTheBackground_FlushesAndRemovesThePidFile()
    {
        string dir = Directory.CreateTempSubdirectory("xs-fork-").FullName;
        string socket = Path.Combine(dir, "socket");
        string pidFile = Path.Combine(dir, "xenstored.pid");
        Assert.Equal(0, (await RunDaemonAsync(null, "--socket", socket, "-F", pidFile)).Code);
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        await using (RawConnection client = await RawConnection.ConnectAsync(socket))
        {
            Assert.False((await client.WriteAsync("/kept", "across a restart")).IsError);
        }
        using (var kill = Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        for (int i = 0; i < 300 && Directory.Exists($"/proc/{pid}"); i++)
        {
            await Task.Delay(100);
        }
        Assert.False(Directory.Exists($"/proc/{pid}"));
        Assert.False(File.Exists(pidFile));
        Assert.False(File.Exists(socket));
        await using OurDaemon again = await OurDaemon.StartAsync("--state-dir", socket + ".state");
        await using RawConnection reader = await RawConnection.ConnectAsync(again);
        Assert.Equal("across a restart", (await reader.ReadAsync("/kept")).Text);
    }

    [Fact]
    public async Task ABackgroundDaemonThatCannotStart_FailsTheCommand()
    {
        string dir = Directory.CreateTempSubdirectory("xs-fork-").FullName;
        // The socket's directory is a file: binding fails in the background process, and the command says so.
        string blocker = Path.Combine(dir, "file");
        File.WriteAllText(blocker, "");
        (int code, _, string stderr) = await RunDaemonAsync(null, "--socket", Path.Combine(blocker, "socket"), "--no-persistence");
        Assert.Equal(1, code);
        Assert.Contains("cannot listen on", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TraceFile_IsWrittenInCFormat()
    {
        string dir = Directory.CreateTempSubdirectory("xs-trace-").FullName;
        string trace = Path.Combine(dir, "trace");
        await using (OurDaemon daemon = await OurDaemon.StartAsync("-T", trace))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(daemon);
            Assert.False((await client.WriteAsync("/traced", "value")).IsError);
            Assert.Equal("value", (await client.ReadAsync("/traced")).Text);
        }
        string[] all = File.ReadAllLines(trace);
        Assert.Equal(["", "***"], all[..2]);
        Assert.Matches(@"^obj: CREATE connection 0x[0-9a-f]+$", all[2]);
        // (The test kit's probe of the socket may come first.)
        string[] lines = all[(Array.FindIndex(all, l => l.StartsWith("io: ", StringComparison.Ordinal)) - 3)..];
        Assert.Matches(@"^io: IN 0x[0-9a-f]+ \(d0\) \d{8} \d\d:\d\d:\d\d WRITE \(/traced value\)$", lines[3]);
        Assert.Matches(@"^io: OUT 0x[0-9a-f]+ \(d0\) \d{8} \d\d:\d\d:\d\d WRITE \(OK \)$", lines[4]);
        Assert.Matches(@"^io: IN .* READ \(/traced \)$", lines[5]);
        Assert.Matches(@"^io: OUT .* READ \(value\)$", lines[6]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(trace));
    }

    [Fact]
    public async Task TraceFile_WithReplay_HasLosslessRecordsBesideCLines()
    {
        string dir = Directory.CreateTempSubdirectory("xs-trace-").FullName;
        string trace = Path.Combine(dir, "trace");
        await using (OurDaemon daemon = await OurDaemon.StartAsync("-T", trace, "--trace-control=+replay"))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(daemon);
            Assert.False((await client.RequestAsync(XsMessageType.Write, RawPayload.Bytes("/traced\0a\nb\0c"), 0)).IsError);
        }
        string[] all = File.ReadAllLines(trace, System.Text.Encoding.Latin1);
        int request = Array.FindIndex(all, l => l.Contains(" in WRITE ", StringComparison.Ordinal));
        // The record keeps the NULs, the newline and the ids; C's io line beside it prints NULs as spaces.
        Assert.Matches(@"^replay: \d+ (\d+) in WRITE \d+ 0 ""/traced\\0a\\x0ab\\0c""$", all[request]);
        Assert.Matches(@"^io: IN 0x[0-9a-f]+ \(d0\) \d{8} \d\d:\d\d:\d\d WRITE \(/traced a$", all[request + 1]);
        Assert.Matches(@"^replay: \d+ \d+ out WRITE \d+ 0 ""OK\\0""$", all[request + 3]);
        string connection = System.Text.RegularExpressions.Regex.Match(all[request], @"^replay: \d+ (\d+) ").Groups[1].Value;
        Assert.Single(all, l => l.StartsWith("replay: ", StringComparison.Ordinal) && l.EndsWith($" {connection} open socket d0", StringComparison.Ordinal));
        Assert.Single(all, l => l.StartsWith("replay: ", StringComparison.Ordinal) && l.EndsWith($" {connection} close", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QuotaFlags_AreVisibleThroughGetQuota()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync("--entry-nb", "77", "-W", "9", "--quota", "transaction-nodes=55", "--perm-nb=3");
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("77", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("nodes"))).Text);
        Assert.Equal("9", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("watches"))).Text);
        Assert.Equal("55", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("transaction-nodes"))).Text);
        Assert.Equal("3", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("node-permissions"))).Text);
    }
}
