using System.Diagnostics;
using System.Text.Json;
using Xenstore.TestKit;

namespace Xenstore.HostSim.Tests;

/// <summary>The executable's contract: exit status, one JSON object on stdout, messages on stderr.</summary>
public sealed class ExecutableTests
{
    private static string Executable => Path.Combine(AppContext.BaseDirectory, "xenstore-hostsim.dll");

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Executable);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task A_bad_option_exits_2_with_a_message()
    {
        (int exitCode, string stdout, string stderr) = await RunAsync("--sim-dir", "/tmp", "--domains", "none");

        Assert.Equal(2, exitCode);
        Assert.Empty(stdout);
        Assert.Contains("--domains", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0()
    {
        (int exitCode, string stdout, _) = await RunAsync("--help");

        Assert.Equal(0, exitCode);
        Assert.StartsWith("Usage: xenstore-hostsim", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_passing_run_exits_0_with_one_json_object_and_the_progress_on_stderr()
    {
        string directory = Directory.CreateTempSubdirectory("xs-hostsim-exe-").FullName;
        await using OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", directory);

        (int exitCode, string stdout, string stderr) = await RunAsync("--socket", daemon.SocketPath, "--sim-dir", directory,
            "--domains", "3", "--concurrency", "2", "--json");

        Assert.True(exitCode == 0, stderr + stdout);
        using JsonDocument report = JsonDocument.Parse(stdout);
        Assert.Equal(3, report.RootElement.GetProperty("booted").GetInt32());
        Assert.Equal(0, report.RootElement.GetProperty("failures").GetInt32());
        Assert.Contains("xenstore-hostsim: booted", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_check_exits_1_and_is_reported_with_its_path()
    {
        string directory = Directory.CreateTempSubdirectory("xs-hostsim-exe-").FullName;
        await using OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", directory);
        // A domain already named as the first guest: libxl's name check refuses the creation.
        await using (Xenstore.Client.XenstoreClient dom0 = await Xenstore.Client.XenstoreClient.ConnectAsync(daemon.SocketPath))
        {
            await dom0.WriteAsync("/local/domain/50/name", "guest-0");
        }

        (int exitCode, string stdout, _) = await RunAsync("--socket", daemon.SocketPath, "--sim-dir", directory,
            "--domains", "2", "--json", "--quiet");

        Assert.Equal(1, exitCode);
        using JsonDocument report = JsonDocument.Parse(stdout);
        Assert.Equal(1, report.RootElement.GetProperty("booted").GetInt32());
        JsonElement deviation = Assert.Single(report.RootElement.GetProperty("deviations").EnumerateArray());
        Assert.Equal("/local/domain/1", deviation.GetProperty("path").GetString());
        Assert.Contains("already used by domain 50", deviation.GetProperty("answer").GetString(), StringComparison.Ordinal);
    }
}
