using System.Text.Json;
using Xenstore.TestKit;

namespace Xenstore.Benchmarks.Tests;

/// <summary>
/// The benchmark's load generator, run briefly: against our daemon every reply must verify (the generator exits
/// non-zero on any unexpected one), and its batched fan-in path and do-nothing server (the big directory's floor
/// included) must work, so that a broken instrument is found here rather than in a benchmark run.
/// </summary>
public sealed class LoadGeneratorTests
{
    private static string LoadGenDll => Path.Combine(RepositoryPaths.Root, "bench", "Xenstore.LoadGen", "bin",
        RepositoryPaths.Configuration, "net10.0", "xs-loadgen.dll");

    [Theory]
    [InlineData("fanin", new[] { "--connections", "16" })]
    [InlineData("storm", new[] { "--toolstacks", "4" })]
    [InlineData("bulk", new[] { "--nodes", "3000" })]
    [InlineData("bigdir", new[] { "--children", "1500" })]
    public async Task Workload_AgainstOurDaemon_VerifiesEveryReply(string workload, string[] extra)
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync("--no-persistence");
        string pid = daemon.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        JsonElement result = await RunAsync(daemon.SocketPath, ["--workload", workload, "--daemon-pid", pid, .. extra]);
        Assert.True(result.GetProperty("ok").GetBoolean());
        if (workload == "fanin")
        {
            Assert.True(result.GetProperty("ops").GetInt64() > 0);
            Assert.True(result.GetProperty("daemon_cpu_us_per_op").GetDouble() > 0);
        }
    }

    [Theory]
    [InlineData("fanin", new[] { "--connections", "16" })]
    [InlineData("bigdir", new[] { "--children", "1500" })]
    public async Task NullServer_AnswersTheWorkload(string workload, string[] extra)
    {
        string directory = Directory.CreateTempSubdirectory("xs-null-").FullName;
        string socket = Path.Combine(directory, "null.sock");
        using System.Diagnostics.Process server = ExternalProcess.Start("dotnet", [LoadGenDll, "--null-server", socket], socket);
        try
        {
            for (int i = 0; i < 100 && !File.Exists(socket); i++)
            {
                await Task.Delay(100);
            }
            JsonElement result = await RunAsync(socket, ["--workload", workload, "--no-payload-checks", .. extra]);
            Assert.True(result.GetProperty("ok").GetBoolean());
            if (workload == "fanin")
            {
                Assert.True(result.GetProperty("ops").GetInt64() > 0);
            }
            else
            {
                // The listing was walked part by part and checked name by name against what was written.
                Assert.Equal("ok", result.GetProperty("listing").GetString());
                Assert.True(result.GetProperty("listing_requests").GetInt32() > 1);
                Assert.True(result.GetProperty("e2big_us").GetDouble() > 0);
            }
        }
        finally
        {
            server.Kill();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<JsonElement> RunAsync(string socket, string[] args)
    {
        ProcessResult run = await ExternalProcess.RunAsync("dotnet",
            [LoadGenDll, "--socket", socket, "--duration", "1", "--warmup", "0.2", "--timeout", "60", .. args], socket,
            timeout: TimeSpan.FromSeconds(90));
        Assert.True(run.ExitCode == 0, run.ToString());
        string json = run.StdOut.Trim().Split('\n')[^1];
        return JsonDocument.Parse(json).RootElement.Clone();
    }
}
