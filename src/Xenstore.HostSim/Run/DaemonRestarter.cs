using System.Diagnostics;
using System.Net.Sockets;
using Xenstore.HostSim.Report;

namespace Xenstore.HostSim.Run;

/// <summary>
/// The daemon-restart fault: SIGKILL the daemon, start it again with the given shell command, and let everyone
/// waiting on the outage know when its socket accepts again.
/// </summary>
internal sealed class DaemonRestarter(HostSimOptions options, FaultLog faults)
{
    private readonly TaskCompletionSource _back = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;

    /// <summary>True once the daemon was killed (a connection lost since is the fault's doing).</summary>
    public bool Happened => Volatile.Read(ref _started) != 0;

    /// <summary>Completes when the restarted daemon accepts connections (at once when no restart happened).</summary>
    public Task Back => Happened ? _back.Task : Task.CompletedTask;

    /// <summary>The daemon's pid now (it changes with the restart).</summary>
    public int? Pid { get; private set; } = options.DaemonPid ?? DaemonUsage.PeerPid(options.SocketPath);

    public async Task RestartAsync()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }
        try
        {
            int pid = Pid ?? throw new InvalidOperationException("the daemon's pid is unknown: give --daemon-pid");
            using (Process daemon = Process.GetProcessById(pid))
            {
                daemon.Kill();
                await daemon.WaitForExitAsync().ConfigureAwait(false);
            }
            var stopwatch = Stopwatch.StartNew();
            // Its output goes to stderr: stdout is the report's.
            using (Process command = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", "exec 1>&2; " + options.DaemonCommand! } })
                ?? throw new InvalidOperationException("cannot run the daemon command"))
            {
                await command.WaitForExitAsync().ConfigureAwait(false);
            }
            await UntilAcceptingAsync().ConfigureAwait(false);
            Pid = DaemonUsage.PeerPid(options.SocketPath);
            faults.Add($"daemon-restart: daemon {pid} SIGKILLed mid-boot, serving again as {Pid} after {stopwatch.Elapsed.TotalMilliseconds:0} ms");
            _back.TrySetResult();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or System.ComponentModel.Win32Exception or TimeoutException)
        {
            _back.TrySetException(e);
        }
    }

    private async Task UntilAcceptingAsync()
    {
        for (int attempt = 0; attempt < 600; attempt++)
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(options.SocketPath)).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
        throw new TimeoutException("the daemon did not accept connections within 30 s of its restart");
    }
}
