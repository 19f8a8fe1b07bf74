using Xenstore.Daemon.CommandLine;
using Xenstore.Server;
using Xenstore.Store;

namespace Xenstore.Daemon.Hosting;

/// <summary>The server's settings from the command line's, with the defaults that depend on the machine.</summary>
internal static class ServerOptionsFactory
{
    /// <summary>Returns the options, or null with <paramref name="error"/> set.</summary>
    public static ServerOptions? Create(DaemonSettings settings, out string? error)
    {
        error = null;
        // The Xenstore domain serves dom0 over its ring and has no socket unless one is asked for.
        string? socketPath = settings.XenstoreDomain && settings.SocketPath is null ? null : SocketPathResolver.Resolve(settings.SocketPath);
        string hypervisor = settings.Hypervisor ?? (File.Exists("/dev/xen/evtchn") ? "xen" : "none");
        if (settings.XenstoreDomain && hypervisor == "none")
        {
            error = "xenstored: --xenstore-domain needs a hypervisor (--sim-dir DIR or --hypervisor xen)";
            return null;
        }
        return new ServerOptions
        {
            SocketPath = socketPath,
            Engine = new EngineOptions { Quotas = settings.Quotas, PrivilegedDomid = settings.PrivilegedDomid ?? settings.MasterDomid },
            Hypervisor = hypervisor switch
            {
                "sim" => HypervisorKind.Simulated,
                "xen" => HypervisorKind.Xen,
                _ => HypervisorKind.None,
            },
            SimulationDirectory = settings.SimulationDirectory,
            StateDirectory = settings.NoPersistence ? null : settings.StateDirectory ?? (socketPath ?? SocketPathResolver.Resolve(null)) + ".state",
            XenstoreDomain = settings.XenstoreDomain,
            PrivilegedEventChannel = settings.EventChannel ?? 0,
            Fsync = settings.Fsync,
            UseIoUring = !settings.NoIoUring,
            SnapshotAfterBytes = settings.SnapshotAfterBytes,
            GuestWriteRate = settings.GuestWriteRate,
            GuestWriteBurst = settings.GuestWriteBurst,
            MetricsPort = settings.MetricsPort,
            LiveUpdateChannel = settings.LiveUpdateState,
            TraceFile = settings.TraceFile,
            TraceSwitches = settings.TraceControl,
        };
    }
}
