using System.Diagnostics;
using Xenstore.Client;
using Xenstore.HostSim.Report;

namespace Xenstore.HostSim.Run;

/// <summary>
/// The live-update fault, as <c>xenstore-control live-update BINARY</c> drives it: CONTROL <c>live-update -f</c>,
/// then <c>-s</c> repeated while the daemon answers BUSY (transactions open), until it says OK or 60 s pass.
/// </summary>
internal sealed class LiveUpdater(HostSimOptions options, FaultLog faults, Deviations deviations)
{
    public async Task UpdateAsync(CancellationToken cancellationToken)
    {
        int? before = options.DaemonPid ?? DaemonUsage.PeerPid(options.SocketPath);
        var clock = Stopwatch.StartNew();
        int busy = 0;
        try
        {
            await using XenstoreClient control = await XenstoreClient.ConnectAsync(new XenstoreClientOptions
            {
                Path = options.SocketPath,
                RequestTimeout = TimeSpan.FromSeconds(90),
            }, cancellationToken).ConfigureAwait(false);
            string answer = await control.ControlAsync("live-update", ["-f", options.LiveUpdateBinary!], cancellationToken).ConfigureAwait(false);
            if (answer != "OK")
            {
                deviations.Add("CONTROL live-update -f", "the daemon refused the new binary", answer);
                return;
            }
            while (true)
            {
                answer = await control.ControlAsync("live-update", ["-s", "-t", "60"], cancellationToken).ConfigureAwait(false);
                if (answer != "BUSY" || clock.Elapsed > TimeSpan.FromSeconds(60))
                {
                    break;
                }
                busy++;
                await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken).ConfigureAwait(false);
            }
            if (answer != "OK")
            {
                deviations.Add("CONTROL live-update -s", "the live update did not complete", answer);
                return;
            }
            faults.Add($"live-update: daemon {before} handed over mid-boot after {busy} BUSY answers, in {clock.Elapsed.TotalMilliseconds:0} ms");
        }
        catch (XenstoreException e)
        {
            deviations.Add("CONTROL live-update", "the live update failed", e.Message);
        }
    }
}
