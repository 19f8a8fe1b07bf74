using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Backends;

/// <summary>
/// Linux's xen-netback (drivers/net/xen-netback/xenbus.c): features at probe, InitWait once the frontend is seen
/// Initialising, and on a Connected frontend: read its rings, watch <c>rate</c>, the frontend's
/// <c>request-multicast-control</c> and <c>hotplug-status</c>; Connected is written only once the hotplug script
/// reported <c>connected</c>.
/// </summary>
internal sealed class Netback(BackendKernel kernel, string directory) : BackendDevice(kernel, directory)
{
    private static readonly string[] s_transactionFeatures =
    [
        "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6", "feature-ipv6-csum-offload", "feature-rx-copy",
        "feature-rx-flip", "feature-multicast-control", "feature-dynamic-multicast-control",
    ];

    private static readonly string[] s_frontendFlags =
    [
        "request-rx-copy", "feature-rx-notify", "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
        "feature-ipv6-csum-offload",
    ];

    private WatchHandle? _hotplugStatus;
    private bool _connected;

    protected override async Task ProbeDriverAsync()
    {
        await XenbusOps.TransactAsync(Client, Kernel.Counters, async tx =>
        {
            foreach (string feature in s_transactionFeatures)
            {
                await tx.WriteAsync($"{Directory}/{feature}", feature == "feature-rx-flip" ? "0" : "1", Stopping).ConfigureAwait(false);
            }
            return true;
        }, Stopping).ConfigureAwait(false);
        await Client.WriteAsync(Directory + "/feature-split-event-channels", "1", Stopping).ConfigureAwait(false);
        await Client.WriteAsync(Directory + "/multi-queue-max-queues", "2", Stopping).ConfigureAwait(false);
        await Client.WriteAsync(Directory + "/feature-ctrl-ring", "1", Stopping).ConfigureAwait(false);
        await XenbusOps.ReadOrNullAsync(Client, Directory + "/script", Stopping).ConfigureAwait(false);
    }

    protected override async Task FrontendChangedAsync(XenbusState frontendState)
    {
        switch (frontendState)
        {
            case XenbusState.Initialising:
                await SwitchAsync(XenbusState.InitWait).ConfigureAwait(false);
                break;
            case XenbusState.Connected:
                if (_connected)
                {
                    break;
                }
                if (Kernel.TakeKill(Directory))
                {
                    await Kernel.KillAndReprobeAsync(this).ConfigureAwait(false);
                    break;
                }
                await SwitchAsync(XenbusState.InitWait).ConfigureAwait(false);
                await ConnectAsync().ConfigureAwait(false);
                break;
            case XenbusState.Closing:
                await SwitchAsync(XenbusState.Closing).ConfigureAwait(false);
                break;
            case XenbusState.Closed or XenbusState.Unknown:
                await CloseAsync(frontendState).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>connect(): the frontend's rings and flags, the backend's <c>mac</c>, the watches.</summary>
    private async Task ConnectAsync()
    {
        await XenbusOps.ReadOrNullAsync(Client, Frontend + "/multi-queue-num-queues", Stopping).ConfigureAwait(false);
        foreach (string ring in (string[])["tx-ring-ref", "rx-ring-ref", "event-channel"])
        {
            if (await XenbusOps.ReadOrNullAsync(Client, $"{Frontend}/{ring}", Stopping).ConfigureAwait(false) is null)
            {
                Kernel.Deviations.Add($"{Frontend}/{ring}", "netback: frontend Connected without its ring", "(missing)");
                return;
            }
        }
        foreach (string flag in s_frontendFlags)
        {
            await XenbusOps.ReadOrNullAsync(Client, $"{Frontend}/{flag}", Stopping).ConfigureAwait(false);
        }
        await XenbusOps.ReadOrNullAsync(Client, Directory + "/mac", Stopping).ConfigureAwait(false);
        await WatchAsync(Directory + "/rate", async path =>
            await XenbusOps.ReadOrNullAsync(Client, path, Stopping).ConfigureAwait(false)).ConfigureAwait(false);
        await WatchAsync(Frontend + "/request-multicast-control", async path =>
            await XenbusOps.ReadOrNullAsync(Client, path, Stopping).ConfigureAwait(false)).ConfigureAwait(false);
        // Fires at once; Connected waits for the script's "connected".
        if (_hotplugStatus is not null)
        {
            await UnwatchAsync(_hotplugStatus).ConfigureAwait(false);
        }
        _hotplugStatus = await WatchHandleAsync(Directory + "/hotplug-status", async _ =>
        {
            if (_hotplugStatus is null
                || await XenbusOps.ReadOrNullAsync(Client, Directory + "/hotplug-status", Stopping).ConfigureAwait(false) != "connected")
            {
                return;
            }
            await UnwatchAsync(_hotplugStatus).ConfigureAwait(false);
            _hotplugStatus = null;
            await SwitchAsync(XenbusState.Connected).ConfigureAwait(false);
        }).ConfigureAwait(false);
        _connected = true;
    }

    /// <summary>netback_remove drops <c>hotplug-status</c> (gone already when the toolstack removed the directory).</summary>
    protected override async Task RemoveDriverAsync() =>
        await XenbusOps.RemoveIfPresentAsync(Client, Directory + "/hotplug-status", Stopping).ConfigureAwait(false);
}
