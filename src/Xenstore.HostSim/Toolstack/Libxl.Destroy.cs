using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Hotplug;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Toolstack;

internal sealed partial class Libxl
{
    /// <summary>
    /// <c>libxl__destroy_domid</c>: pause the guest, remove every device listed under <c>/libxl/D/device</c> with
    /// force (at once), plain RMs of the domain's paths, then the domain's death through the hypervisor (no
    /// RELEASE), waiting for <c>@releaseDomain</c> to report it gone.
    /// </summary>
    /// <param name="xl">The <c>xl destroy</c> process's connection.</param>
    /// <param name="domain">The domain.</param>
    /// <param name="pause">Stops the guest's kernel (it runs no more once paused).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>False when any step deviated.</returns>
    public async Task<bool> DestroyDomainAsync(XenstoreClient xl, SimDomain domain, Func<Task> pause, CancellationToken cancellationToken)
    {
        bool ok = true;
        XenstoreWatch release = await xl.WatchAsync("@releaseDomain", cancellationToken).ConfigureAwait(false);
        await using (((IAsyncDisposable)release).ConfigureAwait(false))
        {
            using (var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                first.CancelAfter(options.WaitTimeout);
                try
                {
                    // Every new watch fires once at once; what follows is about deaths.
                    await release.ReadAsync(first.Token).ConfigureAwait(false);
                    counters.AddEvent();
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    deviations.Add("@releaseDomain", "a new watch did not fire at once", "(no event)");
                    ok = false;
                }
            }
            await pause().ConfigureAwait(false);
            try
            {
                ok &= await RemoveDevicesAsync(xl, domain, cancellationToken).ConfigureAwait(false);
                foreach (string path in (string[])[domain.VmPath, domain.Home, domain.LibxlPath])
                {
                    await XenbusOps.RemoveIfPresentAsync(xl, path, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (XenstoreErrorException e)
            {
                deviations.Add(domain.Home, $"destroying domain {domain.Domid}", e.Message);
                ok = false;
            }
            if (domain.Introduced)
            {
                pages.Kill(domain.Domid);
                ok &= await WaitReleasedAsync(xl, release, domain, cancellationToken).ConfigureAwait(false);
            }
        }
        pages.Forget(domain.Domid);
        domain.Destroyed = true;
        return ok;
    }

    private async Task<bool> WaitReleasedAsync(XenstoreClient xl, XenstoreWatch release, SimDomain domain, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.WaitTimeout);
        try
        {
            while (true)
            {
                if (await release.ReadAsync(deadline.Token).ConfigureAwait(false) is null)
                {
                    throw new XenstoreConnectionException("the @releaseDomain watch ended");
                }
                counters.AddEvent();
                if (!await xl.IsDomainIntroducedAsync((uint)domain.Domid, cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            deviations.Add("@releaseDomain", $"no event reported domain {domain.Domid}'s death", "(still introduced)");
            return false;
        }
    }

    private async Task<bool> RemoveDevicesAsync(XenstoreClient xl, SimDomain domain, CancellationToken cancellationToken)
    {
        var removals = new List<Task<bool>>();
        string devices = domain.LibxlPath + "/device";
        foreach (string kind in await XenbusOps.ListOrEmptyAsync(xl, devices, cancellationToken).ConfigureAwait(false))
        {
            foreach (string id in await XenbusOps.ListOrEmptyAsync(xl, $"{devices}/{kind}", cancellationToken).ConfigureAwait(false))
            {
                string libxlPath = $"{devices}/{kind}/{id}";
                SimDevice? device = domain.Devices.Find(d => d.LibxlPath == libxlPath);
                if (device is null)
                {
                    deviations.Add(libxlPath, "a device libxl never added", "(listed under /libxl)");
                    continue;
                }
                removals.Add(RemoveDeviceAsync(xl, device, cancellationToken));
            }
        }
        bool[] results = await Task.WhenAll(removals).ConfigureAwait(false);
        return results.All(r => r);
    }

    /// <summary><c>libxl__initiate_device_generic_remove</c> with force, then <c>libxl__device_destroy</c>.</summary>
    private async Task<bool> RemoveDeviceAsync(XenstoreClient xl, SimDevice device, CancellationToken cancellationToken)
    {
        string backendState = device.BackendPath + "/state";
        try
        {
            bool backendPresent = await XenbusOps.TransactAsync(xl, counters, async tx =>
            {
                await XenbusOps.RemoveIfPresentAsync(tx, device.FrontendPath, cancellationToken).ConfigureAwait(false);
                string? state = await XenbusOps.ReadOrNullAsync(tx, backendState, cancellationToken).ConfigureAwait(false);
                if (state is null)
                {
                    return false;
                }
                await tx.WriteAsync(device.BackendPath + "/online", "0", cancellationToken).ConfigureAwait(false);
                if (XenbusStates.Parse(state) != XenbusState.Closed)
                {
                    await tx.WriteAsync(backendState, XenbusStates.Text(XenbusState.Closing), cancellationToken).ConfigureAwait(false);
                }
                return true;
            }, cancellationToken).ConfigureAwait(false);
            if (backendPresent)
            {
                await WatchWait.UntilAsync(xl, counters, backendState, "backend state 6 (Closed)",
                    v => v is null || XenbusStates.Parse(v) == XenbusState.Closed, options.WaitTimeout, cancellationToken).ConfigureAwait(false);
            }
            if (device.IsInDriverDomain)
            {
                // xl devd there runs the script and removes the backend; libxl waits for the path to go.
                await WatchWait.UntilAsync(xl, counters, device.BackendPath, "the backend directory removed by xl devd",
                    v => v is null, options.WaitTimeout, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await RunHotplugAsync(device, device.Kind == HotplugDeviceKind.Vif ? HotplugAction.Offline : HotplugAction.Remove,
                    cancellationToken).ConfigureAwait(false);
            }
            await XenbusOps.TransactAsync(xl, counters, async tx =>
            {
                await XenbusOps.RemoveIfPresentAsync(tx, device.FrontendPath, cancellationToken).ConfigureAwait(false);
                await XenbusOps.RemoveIfPresentAsync(tx, device.LibxlPath, cancellationToken).ConfigureAwait(false);
                if (!device.IsInDriverDomain)
                {
                    await XenbusOps.RemoveIfPresentAsync(tx, device.BackendPath, cancellationToken).ConfigureAwait(false);
                }
                await RemoveEmptyParentsAsync(tx, device.BackendPath, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (XenstoreErrorException e)
        {
            deviations.Add(device.BackendPath, $"removing {device.KindName} {device.DeviceId} of domain {device.FrontendDomid}", e.Message);
            return false;
        }
        catch (WatchTimeoutException e)
        {
            deviations.Add(e.Path, $"removing {device.KindName} {device.DeviceId} of domain {device.FrontendDomid}", e.Message);
            return false;
        }
    }

    /// <summary>
    /// <c>libxl__xs_path_cleanup</c>'s walk up: each parent left empty goes, up to the first that is not, so no
    /// empty <c>backend/&lt;kind&gt;/&lt;domid&gt;</c> is left behind (the driver domain cannot remove them itself).
    /// </summary>
    private static async Task RemoveEmptyParentsAsync(XenstoreTransaction tx, string path, CancellationToken cancellationToken)
    {
        for (int slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/'))
        {
            path = path[..slash];
            string[] children;
            try
            {
                children = await tx.ListAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (XenstoreNotFoundException)
            {
                continue;
            }
            if (children.Length > 0)
            {
                return;
            }
            await XenbusOps.RemoveIfPresentAsync(tx, path, cancellationToken).ConfigureAwait(false);
        }
    }
}
