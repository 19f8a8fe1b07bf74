using System.Globalization;
using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Hotplug;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Toolstack;

internal sealed partial class Libxl
{
    /// <summary>
    /// The guest's devices in libxl's order: all disks (at once, as libxl's multidev), then all network interfaces.
    /// Each ends when its backend reached InitWait and, for a dom0 backend, its hotplug script succeeded.
    /// </summary>
    /// <returns>False when any device failed (each failure is a deviation).</returns>
    /// <param name="xl">The command's connection.</param>
    /// <param name="domain">The guest.</param>
    /// <param name="resume">After the daemon's restart: devices already written and scripts already run are kept.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task<bool> AddDevicesAsync(XenstoreClient xl, SimDomain domain, bool resume, CancellationToken cancellationToken)
    {
        bool ok = true;
        foreach (HotplugDeviceKind kind in (HotplugDeviceKind[])[HotplugDeviceKind.Vbd, HotplugDeviceKind.Vif])
        {
            bool[] results = await Task.WhenAll(domain.Devices.Where(d => d.Kind == kind)
                .Select(d => AddDeviceAsync(xl, domain, d, resume, cancellationToken))).ConfigureAwait(false);
            ok &= results.All(r => r);
        }
        return ok;
    }

    private async Task<bool> AddDeviceAsync(XenstoreClient xl, SimDomain domain, SimDevice device, bool resume,
        CancellationToken cancellationToken)
    {
        (string Key, string Value)[] frontend = device.Kind == HotplugDeviceKind.Vif ? VifFrontend(device) : VbdFrontend(device);
        (string Key, string Value)[] readOnlyFrontend = device.Kind == HotplugDeviceKind.Vif ? [("mtu", "1500")] : [];
        (string Key, string Value)[] backend = device.Kind == HotplugDeviceKind.Vif ? VifBackend(device) : VbdBackend(domain, device);
        try
        {
            if (!resume || await XenbusOps.ReadOrNullAsync(xl, device.LibxlPath + "/backend", cancellationToken).ConfigureAwait(false) != device.BackendPath)
            {
                await XenbusOps.TransactAsync(xl, counters, async tx =>
                {
                    await GenericAddAsync(tx, device, frontend, readOnlyFrontend, backend, cancellationToken).ConfigureAwait(false);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
            }
            await WatchWait.UntilAsync(xl, counters, device.BackendPath + "/state", "backend state 2 (InitWait)",
                v => XenbusStates.Parse(v) == XenbusState.InitWait, options.WaitTimeout, cancellationToken).ConfigureAwait(false);
            if (resume && await XenbusOps.ReadOrNullAsync(xl, device.BackendPath + "/hotplug-status", cancellationToken).ConfigureAwait(false) == "connected")
            {
                return true;
            }
            if (device.IsInDriverDomain)
            {
                // Not a local backend: xl devd in the driver domain runs its script.
                return true;
            }
            if (!await RunHotplugAsync(device, device.Kind == HotplugDeviceKind.Vif ? HotplugAction.Online : HotplugAction.Add,
                cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
            string? status = await XenbusOps.ReadOrNullAsync(xl, device.BackendPath + "/hotplug-status", cancellationToken).ConfigureAwait(false);
            if (status != "connected")
            {
                deviations.Add(device.BackendPath + "/hotplug-status", "hotplug script left no \"connected\"", status ?? "(missing)");
                return false;
            }
            return true;
        }
        catch (XenstoreErrorException e)
        {
            deviations.Add(device.BackendPath, $"adding {device.KindName} {device.DeviceId} to domain {domain.Domid}", e.Message);
            return false;
        }
        catch (WatchTimeoutException e)
        {
            deviations.Add(e.Path, $"adding {device.KindName} {device.DeviceId} to domain {domain.Domid}", e.Message);
            return false;
        }
    }

    /// <summary>
    /// <c>libxl__device_generic_add</c> in one transaction: the trusted copy under <c>/libxl</c>, the frontend
    /// directory (owned by the guest, readable by the backend; each key written with those permissions, the
    /// read-only keys owned by the backend), the backend directory (owned by the backend, readable by the guest).
    /// </summary>
    private static async Task GenericAddAsync(XenstoreTransaction tx, SimDevice device, (string Key, string Value)[] frontend,
        (string Key, string Value)[] readOnlyFrontend, (string Key, string Value)[] backend, CancellationToken cancellationToken)
    {
        if (await tx.TryReadAsync(device.LibxlPath + "/backend", cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new XenstoreProtocolException($"device {device.LibxlPath} already exists");
        }
        await XenbusOps.RemoveIfPresentAsync(tx, device.LibxlPath, cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(device.LibxlPath + "/frontend", device.FrontendPath, cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(device.LibxlPath + "/backend", device.BackendPath, cancellationToken).ConfigureAwait(false);

        var frontendPerms = Perms.OwnedReadableBy(device.FrontendDomid, device.BackendDomid);
        var readOnlyPerms = Perms.OwnedReadableBy(device.BackendDomid, device.FrontendDomid);
        await XenbusOps.RemoveIfPresentAsync(tx, device.FrontendPath, cancellationToken).ConfigureAwait(false);
        await tx.MkdirAsync(device.FrontendPath, cancellationToken).ConfigureAwait(false);
        await tx.SetPermissionsAsync(device.FrontendPath, frontendPerms, cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(device.FrontendPath + "/backend", device.BackendPath, cancellationToken).ConfigureAwait(false);
        foreach ((string key, string value) in frontend)
        {
            await tx.WriteAsync($"{device.FrontendPath}/{key}", value, cancellationToken).ConfigureAwait(false);
            await tx.SetPermissionsAsync($"{device.FrontendPath}/{key}", frontendPerms, cancellationToken).ConfigureAwait(false);
        }
        foreach ((string key, string value) in readOnlyFrontend)
        {
            await tx.WriteAsync($"{device.FrontendPath}/{key}", value, cancellationToken).ConfigureAwait(false);
            await tx.SetPermissionsAsync($"{device.FrontendPath}/{key}", readOnlyPerms, cancellationToken).ConfigureAwait(false);
        }

        await XenbusOps.RemoveIfPresentAsync(tx, device.BackendPath, cancellationToken).ConfigureAwait(false);
        await tx.MkdirAsync(device.BackendPath, cancellationToken).ConfigureAwait(false);
        await tx.SetPermissionsAsync(device.BackendPath, Perms.OwnedReadableBy(device.BackendDomid, device.FrontendDomid),
            cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(device.BackendPath + "/frontend", device.FrontendPath, cancellationToken).ConfigureAwait(false);
        foreach ((string key, string value) in backend)
        {
            await tx.WriteAsync($"{device.BackendPath}/{key}", value, cancellationToken).ConfigureAwait(false);
        }
        foreach ((string key, string value) in backend)
        {
            await tx.WriteAsync($"{device.LibxlPath}/{key}", value, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Mac(SimDevice device) =>
        string.Create(CultureInfo.InvariantCulture, $"00:16:3e:{(device.FrontendDomid >> 8) & 0xff:x2}:{device.FrontendDomid & 0xff:x2}:{device.Index & 0xff:x2}");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static (string, string)[] VifFrontend(SimDevice device) =>
    [
        ("backend-id", Text(device.BackendDomid)), ("state", "1"), ("handle", Text(device.DeviceId)), ("mac", Mac(device)),
        ("trusted", "1"),
    ];

    private static (string, string)[] VifBackend(SimDevice device) =>
    [
        ("frontend-id", Text(device.FrontendDomid)), ("online", "1"), ("state", "1"), ("script", "/etc/xen/scripts/vif-bridge"),
        ("mac", Mac(device)), ("mtu", "1500"), ("bridge", "xenbr0"), ("handle", Text(device.DeviceId)), ("type", "vif"),
        ("hotplug-status", ""),
    ];

    private static (string, string)[] VbdFrontend(SimDevice device) =>
    [
        ("backend-id", Text(device.BackendDomid)), ("state", "1"), ("virtual-device", Text(device.DeviceId)),
        ("device-type", "disk"), ("trusted", "1"),
    ];

    private static (string, string)[] VbdBackend(SimDomain domain, SimDevice device) =>
    [
        ("frontend-id", Text(device.FrontendDomid)), ("online", "1"), ("removable", "0"), ("bootable", "1"), ("state", "1"),
        ("dev", "xvd" + (char)('a' + device.Index)), ("type", "phy"), ("mode", "w"), ("device-type", "disk"),
        ("params", $"/dev/xsim/{domain.Name}-{device.Index}"), ("script", "/etc/xen/scripts/block"), ("discard-enable", "0"),
        ("specification", "xen"),
    ];
}
