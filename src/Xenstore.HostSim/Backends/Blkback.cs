using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Backends;

/// <summary>
/// Linux's xen-blkback (drivers/block/xen-blkback/xenbus.c): a watch on its own <c>physical-device</c> (written by
/// the hotplug script), features and InitWait at probe; it connects, in one transaction of features and sizes, once
/// both the physical device is known and the frontend's ring is mapped (Initialised or Connected).
/// </summary>
internal sealed class Blkback(BackendKernel kernel, string directory) : BackendDevice(kernel, directory)
{
    private string? _physicalDevice;
    private bool _ringMapped;

    protected override async Task ProbeDriverAsync()
    {
        // Fires at once with nothing there yet: ignored until the script writes it.
        await WatchAsync(Directory + "/physical-device", _ => PhysicalDeviceChangedAsync()).ConfigureAwait(false);
        await Client.WriteAsync(Directory + "/feature-max-indirect-segments", "256", Stopping).ConfigureAwait(false);
        await Client.WriteAsync(Directory + "/multi-queue-max-queues", "2", Stopping).ConfigureAwait(false);
        await Client.WriteAsync(Directory + "/max-ring-page-order", "4", Stopping).ConfigureAwait(false);
        await SwitchAsync(XenbusState.InitWait).ConfigureAwait(false);
    }

    /// <summary>backend_changed: open the block device and create the vbd.</summary>
    private async Task PhysicalDeviceChangedAsync()
    {
        string? physical = await XenbusOps.ReadOrNullAsync(Client, Directory + "/physical-device", Stopping).ConfigureAwait(false);
        if (string.IsNullOrEmpty(physical) || physical == _physicalDevice)
        {
            return;
        }
        await XenbusOps.ReadOrNullAsync(Client, Directory + "/mode", Stopping).ConfigureAwait(false);
        await XenbusOps.ReadOrNullAsync(Client, Directory + "/device-type", Stopping).ConfigureAwait(false);
        _physicalDevice = physical;
        await UpdateStatusAsync().ConfigureAwait(false);
    }

    protected override async Task FrontendChangedAsync(XenbusState frontendState)
    {
        switch (frontendState)
        {
            case XenbusState.Initialising:
                if (State == XenbusState.Closed)
                {
                    await SwitchAsync(XenbusState.InitWait).ConfigureAwait(false);
                }
                break;
            case XenbusState.Initialised or XenbusState.Connected:
                if (State == XenbusState.Connected)
                {
                    break;
                }
                if (Kernel.TakeKill(Directory))
                {
                    await Kernel.KillAndReprobeAsync(this).ConfigureAwait(false);
                    break;
                }
                if (!_ringMapped && !await ConnectRingAsync().ConfigureAwait(false))
                {
                    break;
                }
                await UpdateStatusAsync().ConfigureAwait(false);
                break;
            case XenbusState.Closing:
                await SwitchAsync(XenbusState.Closing).ConfigureAwait(false);
                break;
            case XenbusState.Closed or XenbusState.Unknown:
                await CloseAsync(frontendState).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>connect_ring: the frontend's protocol, features and ring.</summary>
    private async Task<bool> ConnectRingAsync()
    {
        foreach (string key in (string[])["protocol", "feature-persistent", "multi-queue-num-queues", "ring-page-order"])
        {
            await XenbusOps.ReadOrNullAsync(Client, $"{Frontend}/{key}", Stopping).ConfigureAwait(false);
        }
        foreach (string ring in (string[])["ring-ref", "event-channel"])
        {
            if (await XenbusOps.ReadOrNullAsync(Client, $"{Frontend}/{ring}", Stopping).ConfigureAwait(false) is null)
            {
                Kernel.Deviations.Add($"{Frontend}/{ring}", "blkback: frontend Initialised without its ring", "(missing)");
                return false;
            }
        }
        _ringMapped = true;
        return true;
    }

    /// <summary>xen_update_blkif_status: connect once the ring is mapped and the vbd exists.</summary>
    private async Task UpdateStatusAsync()
    {
        if (!_ringMapped || _physicalDevice is null || State == XenbusState.Connected)
        {
            return;
        }
        await XenbusOps.TransactAsync(Client, Kernel.Counters, async tx =>
        {
            (string Key, string Value)[] keys =
            [
                ("feature-flush-cache", "1"), ("feature-barrier", "1"), ("feature-persistent", "1"),
                ("sectors", "2097152"), ("info", "0"), ("sector-size", "512"), ("physical-sector-size", "512"),
            ];
            foreach ((string key, string value) in keys)
            {
                await tx.WriteAsync($"{Directory}/{key}", value, Stopping).ConfigureAwait(false);
            }
            return true;
        }, Stopping).ConfigureAwait(false);
        await SwitchAsync(XenbusState.Connected).ConfigureAwait(false);
    }
}
