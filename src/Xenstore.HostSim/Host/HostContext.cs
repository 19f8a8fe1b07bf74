using System.Collections.Concurrent;
using Xenstore.HostSim.Run;

namespace Xenstore.HostSim.Host;

/// <summary>What every party of the simulated host shares.</summary>
internal sealed class HostContext(HostSimOptions options)
{
    public HostSimOptions Options { get; } = options;

    public RunCounters Counters { get; } = new();

    public Deviations Deviations { get; } = new();

    public FaultLog Faults { get; } = new();

    public DeviceRegistry Registry { get; } = new();

    public SimulatedPages Pages { get; } = new(options.SimDir);

    public Connections Connections => new(Options, Counters);

    /// <summary>The daemon-restart fault's state (never triggered for other faults).</summary>
    public DaemonRestarter Restarter => _restarter ??= new DaemonRestarter(Options, Faults);

    private DaemonRestarter? _restarter;

    /// <summary>
    /// Whether an error is the daemon-restart fault's doing: a connection lost (or a request cut off) once the
    /// daemon was killed. The party resumes once the daemon is back.
    /// </summary>
    public bool IsOutage(Exception error) =>
        Restarter.Happened && error is Client.XenstoreConnectionException or Client.XenstoreTimeoutException;

    /// <summary>Backend directories whose driver dies at its next step of the handshake (fault backend-kill).</summary>
    public ConcurrentDictionary<string, bool> BackendsToKill { get; } = new(StringComparer.Ordinal);
}
