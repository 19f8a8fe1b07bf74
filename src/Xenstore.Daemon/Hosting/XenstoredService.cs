using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xenstore.Daemon.CommandLine;
using Xenstore.Daemon.Startup;
using Xenstore.Server;

namespace Xenstore.Daemon.Hosting;

/// <summary>
/// The server as the daemon runs it. Start: the server serves, then the pid file is written, the "listening on"
/// line printed, a waiting parent released and systemd told the status (<see cref="DaemonHost"/> sends READY=1
/// once this returns). Stop (SIGTERM, SIGINT): the server is disposed, which flushes the state, and the pid file goes.
/// A live update: systemd learns the successor's pid (MAINPID=) and this process leaves at once, closing nothing.
/// </summary>
internal sealed partial class XenstoredService(
    DaemonSettings settings,
    ServerOptions options,
    ILoggerFactory loggerFactory,
    SystemdNotifier? systemd,
    ReadinessPipe? readiness) : IDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("xenstored");
    private readonly PidFile? _pidFile = settings.PidFile is null ? null : new PidFile(settings.PidFile);
    private XenstoreServer? _server;
    private PosixSignalRegistration? _onUsr2;
    private PosixSignalRegistration? _onHup;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = new XenstoreServer(options, loggerFactory);
        _server = server;
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        _pidFile?.Write();
        if (options.SocketPath is not null)
        {
            Console.WriteLine($"xenstored: listening on {options.SocketPath}");
        }
        if (options.XenstoreDomain)
        {
            Console.WriteLine($"xenstored: serving domain {options.Engine.PrivilegedDomid ?? 0} over its ring");
        }
        if (settings.OutputPid)
        {
            Console.WriteLine(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        }
        Console.Out.Flush();
        readiness?.Signal();
        // In the background (a unit whose ExecStart is Xen's launch-xenstore) systemd learns which process to follow.
        Notify((readiness is null ? "" : $"MAINPID={Environment.ProcessId}\n") + $"STATUS=serving {options.SocketPath ?? "the privileged domain's ring"}");
        // SIGUSR2 (12 on Linux): live update with the running binary, as CONTROL live-update does.
        _onUsr2 = PosixSignalRegistration.Create((PosixSignal)12, context =>
        {
            context.Cancel = true;
            server.RequestLiveUpdate();
        });
        // SIGHUP reopens the trace file (log rotation), as in C.
        _onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            server.ReopenTrace();
        });
        _ = LeaveAfterHandoverAsync(server);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Notify("STATUS=stopping: flushing the state");
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        _pidFile?.Remove();
    }

    /// <summary>
    /// The successor serves every client and owns the sockets once the live update completes: systemd must follow
    /// it (or it would stop the service when this process exits), and this process leaves without closing or
    /// flushing anything, and without the STOPPING=1 a normal stop sends.
    /// </summary>
    private async Task LeaveAfterHandoverAsync(XenstoreServer server)
    {
        int successor = await server.HandedOver.ConfigureAwait(false);
        Notify($"MAINPID={successor}\nSTATUS=serving (after a live update, process {successor})");
        HandedOver(_logger, successor);
        Environment.Exit(0);
    }

    private void Notify(string state)
    {
        systemd?.Notify(state);
    }

    public void Dispose()
    {
        _onUsr2?.Dispose();
        _onHup?.Dispose();
    }

    [LoggerMessage(100, LogLevel.Information, "live update complete: process {Successor} serves now", EventName = "HandedOver")]
    private static partial void HandedOver(ILogger logger, int successor);
}
