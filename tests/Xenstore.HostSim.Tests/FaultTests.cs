using System.Text.Json;
using Xenstore.TestKit;

namespace Xenstore.HostSim.Tests;

/// <summary>Each injected fault against our daemon: the host copes, and nothing is left behind.</summary>
public sealed class FaultTests
{
    [Fact]
    public async Task A_backend_killed_mid_handshake_is_probed_again_and_every_guest_boots()
    {
        await using SimulatedHost host = await SimulatedHost.StartAsync("ours");

        JsonElement report = await SimulatedHost.RunAsync(host.SmallHost() with { Fault = FaultKind.BackendKill, FaultDomain = 2 });

        Assert.True(report.GetProperty("failures").GetInt32() == 0, EndToEndTests.Deviations(report));
        Assert.Equal(6, report.GetProperty("booted").GetInt32());
        Assert.Equal(0, report.GetProperty("leftover_nodes").GetInt32());
        string fault = Assert.Single(report.GetProperty("fault_events").EnumerateArray()).GetString()!;
        Assert.StartsWith("backend-kill: the driver of /local/domain/0/backend/vif/", fault, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backend_in_the_driver_domain_killed_mid_handshake_recovers_too()
    {
        await using SimulatedHost host = await SimulatedHost.StartAsync("ours");

        // Guest 0's vif is the one behind the driver domain.
        JsonElement report = await SimulatedHost.RunAsync(host.SmallHost() with { Fault = FaultKind.BackendKill, FaultDomain = 0 });

        Assert.True(report.GetProperty("failures").GetInt32() == 0, EndToEndTests.Deviations(report));
        Assert.Equal(6, report.GetProperty("booted").GetInt32());
        Assert.Equal(0, report.GetProperty("leftover_nodes").GetInt32());
        string fault = Assert.Single(report.GetProperty("fault_events").EnumerateArray()).GetString()!;
        Assert.Contains("/backend/vif/", fault, StringComparison.Ordinal);
        Assert.DoesNotContain("/local/domain/0/", fault, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_guest_dying_while_connecting_is_destroyed_cleanly_and_the_others_boot()
    {
        await using SimulatedHost host = await SimulatedHost.StartAsync("ours");

        JsonElement report = await SimulatedHost.RunAsync(host.SmallHost() with { Fault = FaultKind.GuestDeath, FaultDomain = 3 });

        Assert.True(report.GetProperty("failures").GetInt32() == 0, EndToEndTests.Deviations(report));
        Assert.Equal(5, report.GetProperty("booted").GetInt32());
        Assert.Equal(1, report.GetProperty("died_by_fault").GetInt32());
        Assert.Equal(6, report.GetProperty("destroyed").GetInt32());
        Assert.Equal(0, report.GetProperty("leftover_nodes").GetInt32());
    }

    [Fact]
    public async Task The_daemon_killed_mid_boot_restarts_from_its_journal_and_every_party_finishes()
    {
        string directory = Directory.CreateTempSubdirectory("xs-hostsim-restart-").FullName;
        string sim = Path.Combine(directory, "sim");
        string state = Path.Combine(directory, "state");
        await using OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", sim, "--state-dir", state);
        // Started again in the background (the daemon returns once it serves), on the same socket, rings and state.
        string command = $"dotnet '{OurDaemon.DaemonDll}' --socket '{daemon.SocketPath}' --sim-dir '{sim}' --state-dir '{state}'";
        var options = new HostSimOptions
        {
            SocketPath = daemon.SocketPath,
            SimDir = sim,
            Domains = 6,
            Concurrency = 2,
            DriverDomain = true,
            DriverDomainEvery = 6,
            Quiet = true,
            DaemonPid = daemon.ProcessId,
            Fault = FaultKind.DaemonRestart,
            FaultDomain = 3,
            DaemonCommand = command,
        };

        JsonElement report = await SimulatedHost.RunAsync(options);
        int restarted = report.GetProperty("daemon_pid").GetInt32();
        try
        {
            Assert.True(report.GetProperty("failures").GetInt32() == 0, EndToEndTests.Deviations(report));
            Assert.Equal(6, report.GetProperty("booted").GetInt32());
            Assert.Equal(6, report.GetProperty("destroyed").GetInt32());
            Assert.Equal(0, report.GetProperty("leftover_nodes").GetInt32());
            Assert.NotEqual(daemon.ProcessId, restarted);
            string fault = Assert.Single(report.GetProperty("fault_events").EnumerateArray()).GetString()!;
            Assert.StartsWith($"daemon-restart: daemon {daemon.ProcessId} SIGKILLed mid-boot", fault, StringComparison.Ordinal);
        }
        finally
        {
            using var again = System.Diagnostics.Process.GetProcessById(restarted);
            again.Kill();
        }
    }

    /// <summary>
    /// A live update in the middle of the boot storm: accepted once no transaction is open (BUSY before, as
    /// <c>xenstore-control live-update</c> retries), and a transaction opened after that answer but before the store
    /// went quiet makes it give way with BUSY rather than be lost. Nobody sees more than a pause.
    /// </summary>
    [Fact]
    public async Task A_live_update_during_the_boot_storm_is_only_a_pause()
    {
        string directory = Directory.CreateTempSubdirectory("xs-hostsim-update-").FullName;
        string pidFile = Path.Combine(directory, "xenstored.pid");
        await using OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", Path.Combine(directory, "sim"),
            "--state-dir", Path.Combine(directory, "state"), "--pid-file", pidFile);
        var options = new HostSimOptions
        {
            SocketPath = daemon.SocketPath,
            SimDir = Path.Combine(directory, "sim"),
            Domains = 6,
            Concurrency = 2,
            Quiet = true,
            Fault = FaultKind.LiveUpdate,
            FaultDomain = 2,
            LiveUpdateBinary = OurDaemon.DaemonDll,
        };
        try
        {
            JsonElement report = await SimulatedHost.RunAsync(options);
            Assert.True(report.GetProperty("failures").GetInt32() == 0, EndToEndTests.Deviations(report));
            Assert.Equal(6, report.GetProperty("booted").GetInt32());
            Assert.Equal(0, report.GetProperty("leftover_nodes").GetInt32());
            Assert.NotEqual(daemon.ProcessId, int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture));
            string fault = Assert.Single(report.GetProperty("fault_events").EnumerateArray()).GetString()!;
            Assert.StartsWith($"live-update: daemon {daemon.ProcessId} handed over mid-boot", fault, StringComparison.Ordinal);
        }
        finally
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int successor) && successor != daemon.ProcessId)
            {
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(successor);
                    process.Kill();
                }
                catch (ArgumentException)
                {
                    // Already gone.
                }
            }
        }
    }
}
