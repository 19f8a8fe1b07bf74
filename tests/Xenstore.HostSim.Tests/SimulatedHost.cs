using System.Text.Json;
using Xenstore.HostSim.Report;
using Xenstore.TestKit;

namespace Xenstore.HostSim.Tests;

/// <summary>A daemon serving simulated guest rings, and runs of the host simulator against it.</summary>
internal sealed class SimulatedHost : IAsyncDisposable
{
    private SimulatedHost(IDaemonUnderTest daemon, string ringDirectory, int? pid)
    {
        Daemon = daemon;
        RingDirectory = ringDirectory;
        Pid = pid;
    }

    public IDaemonUnderTest Daemon { get; }

    public string RingDirectory { get; }

    public int? Pid { get; }

    /// <summary>Ours with <c>--sim-dir</c>, or a reference C daemon with <c>REFXS_RINGS=1</c> (skipped when absent).</summary>
    public static async Task<SimulatedHost> StartAsync(string kind)
    {
        if (kind == "ours")
        {
            string directory = Directory.CreateTempSubdirectory("xs-hostsim-").FullName;
            OurDaemon ours = await OurDaemon.StartAsync("--sim-dir", directory);
            return new SimulatedHost(ours, directory, ours.ProcessId);
        }
        ReferenceDaemon reference = await ReferenceDaemon.StartOrSkipAsync(kind, rings: true);
        return new SimulatedHost(reference, Path.Combine(reference.Home, "rings"), null);
    }

    /// <summary>The small host of the end-to-end tests: 6 guests, 2 at a time, 1 vif + 1 vbd each, one vif behind a driver domain.</summary>
    public HostSimOptions SmallHost() => new()
    {
        SocketPath = Daemon.SocketPath,
        SimDir = RingDirectory,
        Domains = 6,
        Concurrency = 2,
        Vifs = 1,
        Vbds = 1,
        DriverDomain = true,
        DriverDomainEvery = 6,
        Hotplug = HotplugMode.Inline,
        Quiet = true,
        DaemonPid = Pid,
    };

    /// <summary>Runs the simulator and returns its JSON report, parsed.</summary>
    public static async Task<JsonElement> RunAsync(HostSimOptions options)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        HostSimReport report = await new HostSimulation(options).RunAsync(timeout.Token);
        using JsonDocument json = JsonDocument.Parse(ReportWriter.Json(report));
        return json.RootElement.Clone();
    }

    public ValueTask DisposeAsync() => Daemon.DisposeAsync();
}
