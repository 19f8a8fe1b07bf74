using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xenstore.Daemon;
using Xenstore.Server;
using Xenstore.Store;

DaemonSettings? settings = CommandLine.Parse(args, out string? error);
if (settings is null)
{
    Console.Error.WriteLine($"xenstored: {error}");
    Console.Error.WriteLine("Try 'xenstored --help'.");
    return 2;
}
if (settings.ShowHelp)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

using ILoggerFactory loggerFactory = LoggerFactory.Create(builder =>
{
    // Logs go to stderr; stdout carries only the "listening on" line that scripts wait for.
    builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    builder.AddSimpleConsole(o => o.SingleLine = true);
    builder.AddFilter(level => level >= (settings.Verbose ? LogLevel.Debug : LogLevel.Information));
});

// The Xenstore domain serves dom0 over its ring and has no socket unless one is asked for.
string? socketPath = settings.XenstoreDomain && settings.SocketPath is null ? null : SocketPathResolver.Resolve(settings.SocketPath);
string hypervisor = settings.Hypervisor ?? (File.Exists("/dev/xen/evtchn") ? "xen" : "none");
if (settings.XenstoreDomain && hypervisor == "none")
{
    Console.Error.WriteLine("xenstored: --xenstore-domain needs a hypervisor (--sim-dir DIR or --hypervisor xen)");
    return 2;
}
var options = new ServerOptions
{
    SocketPath = socketPath,
    Engine = new EngineOptions { Quotas = settings.Quotas, PrivilegedDomid = settings.PrivilegedDomid },
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
    MetricsPort = settings.MetricsPort,
    LiveUpdateStatePath = settings.LiveUpdateState,
};

await using (var server = new XenstoreServer(options, loggerFactory))
{
    var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
    {
        context.Cancel = true;
        stop.TrySetResult();
    });
    // SIGUSR2 (12 on Linux): live update with the running binary, as CONTROL live-update does.
    using PosixSignalRegistration onUsr2 = PosixSignalRegistration.Create((PosixSignal)12, context =>
    {
        context.Cancel = true;
        server.RequestLiveUpdate();
    });
    using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
    {
        context.Cancel = true;
        stop.TrySetResult();
    });
    try
    {
        await server.StartAsync().ConfigureAwait(false);
    }
    catch (System.Net.HttpListenerException e)
    {
        Console.Error.WriteLine($"xenstored: cannot serve metrics on port {settings.MetricsPort}: {e.Message}");
        return 1;
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException or DllNotFoundException or EntryPointNotFoundException)
    {
        Console.Error.WriteLine(socketPath is null ? $"xenstored: cannot start: {e.Message}" : $"xenstored: cannot listen on {socketPath}: {e.Message}");
        return 1;
    }
    if (socketPath is not null)
    {
        Console.WriteLine($"xenstored: listening on {socketPath}");
    }
    if (settings.XenstoreDomain)
    {
        Console.WriteLine($"xenstored: serving domain {settings.PrivilegedDomid ?? 0} over its ring");
    }
    if (await Task.WhenAny(stop.Task, server.HandedOver).ConfigureAwait(false) == server.HandedOver)
    {
        // A successor serves every client now and owns the sockets: leave at once, closing nothing.
        Environment.Exit(0);
    }
}
return 0;
