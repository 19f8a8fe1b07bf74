using System.Diagnostics;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>The xenstored executable: flags, exit codes, where it listens, clean shutdown.</summary>
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
