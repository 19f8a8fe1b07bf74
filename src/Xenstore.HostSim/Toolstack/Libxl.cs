using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Hotplug;
using Xenstore.HostSim.Run;

namespace Xenstore.HostSim.Toolstack;

/// <summary>
/// The toolstack in dom0, as libxl drives Xenstore for <c>xl create</c> and <c>xl destroy</c> (reference note
/// §3.2, §3.3, §3.6). Each command uses the connection it is given: one per <c>xl</c> process.
/// </summary>
internal sealed partial class Libxl(HostSimOptions options, RunCounters counters, Deviations deviations,
    SimulatedPages pages, IHotplugRunner hotplug, DaemonRestarter restarter)
{
    /// <summary>Runs a hotplug script for a device; a failure is a deviation.</summary>
    private async Task<bool> RunHotplugAsync(SimDevice device, HotplugAction action, CancellationToken cancellationToken)
    {
        HotplugResult result = await hotplug.RunAsync(device.Hotplug(action), cancellationToken).ConfigureAwait(false);
        counters.AddHotplug(result.Processes, result.Elapsed);
        counters.AddRequests(result.Requests);
        if (!result.Succeeded && restarter.Happened)
        {
            // Cut off by the daemon's restart: the command resumes once it is back, and runs the script again.
            throw new XenstoreConnectionException($"hotplug script interrupted: {result.Error}");
        }
        if (!result.Succeeded)
        {
            deviations.Add(device.BackendPath, $"hotplug {device.KindName} {action} failed", result.Error ?? "(no error text)");
        }
        return result.Succeeded;
    }
}
