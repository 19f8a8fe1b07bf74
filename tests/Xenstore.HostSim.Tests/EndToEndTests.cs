using System.Text.Json;
using Xenstore.TestKit;

namespace Xenstore.HostSim.Tests;

/// <summary>
/// A small host booted and destroyed against each daemon: every device Connected on both ends, every check passed,
/// nothing left behind.
/// </summary>
public sealed class EndToEndTests
{
    public static TheoryData<string> Kinds => DaemonKinds.Data(["ours", .. DaemonKinds.ReferenceC]);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_small_host_boots_and_is_destroyed_cleanly(string kind)
    {
        await using SimulatedHost host = await SimulatedHost.StartAsync(kind);

        JsonElement report = await SimulatedHost.RunAsync(host.SmallHost());

        Assert.True(report.GetProperty("failures").GetInt32() == 0, Deviations(report));
        Assert.Equal(6, report.GetProperty("booted").GetInt32());
        Assert.Equal(6, report.GetProperty("destroyed").GetInt32());
        Assert.Equal(0, report.GetProperty("leftover_nodes").GetInt32());
        // What every boot costs at the least: two transactions, the devices' transactions, the drivers' requests.
        Assert.True(report.GetProperty("requests_per_domain").GetDouble() > 100);
        Assert.True(report.GetProperty("events").GetInt64() > 6 * 10);
        Assert.Equal(0, report.GetProperty("cli_processes").GetInt64());
        Assert.True(report.GetProperty("boot_p99_ms").GetDouble() >= report.GetProperty("boot_p50_ms").GetDouble());
    }

    [Fact]
    public async Task The_daemons_cpu_and_memory_are_reported_when_its_pid_is_known()
    {
        await using SimulatedHost host = await SimulatedHost.StartAsync("ours");

        JsonElement report = await SimulatedHost.RunAsync(host.SmallHost() with { Domains = 2, DriverDomain = false });

        Assert.Equal(host.Pid, report.GetProperty("daemon_pid").GetInt32());
        Assert.True(report.GetProperty("daemon_rss_kib_after").GetInt64() > 0);
        Assert.True(report.GetProperty("daemon_cpu_s").GetDouble() >= 0);
    }

    [Fact]
    public async Task The_daemons_pid_comes_from_the_sockets_peer_when_not_given()
    {
        await using SimulatedHost host = await SimulatedHost.StartAsync("ours");

        JsonElement report = await SimulatedHost.RunAsync(host.SmallHost() with { Domains = 1, DriverDomain = false, DaemonPid = null });

        Assert.Equal(host.Pid, report.GetProperty("daemon_pid").GetInt32());
    }

    internal static string Deviations(JsonElement report) =>
        string.Join('\n', report.GetProperty("deviations").EnumerateArray()
            .Select(d => $"{d.GetProperty("path").GetString()}: {d.GetProperty("what").GetString()}: {d.GetProperty("answer").GetString()}"));
}
