using System.Globalization;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Frontends;

/// <summary>
/// Linux's xen-blkfront: <c>virtual-device</c> read at probe; on the backend's InitWait, its queue and ring-order
/// limits, then ring, event channel, protocol and features in one transaction and Initialised; on the backend's
/// Connected, the disk's size and the backend's features, then Connected.
/// </summary>
internal sealed class Blkfront(GuestKernel kernel, string directory) : FrontendDevice(kernel, directory)
{
    private static readonly string[] s_connectKeys =
    [
        "sectors", "info", "sector-size", "physical-sector-size", "feature-flush-cache", "feature-barrier",
        "feature-discard", "feature-persistent", "feature-max-indirect-segments",
    ];

    protected override async Task ProbeDriverAsync() =>
        await XenbusOps.ReadOrNullAsync(Client, Directory + "/virtual-device", Stopping).ConfigureAwait(false);

    protected override async Task BackendChangedAsync(XenbusState backendState)
    {
        switch (backendState)
        {
            case XenbusState.InitWait:
                if (State != XenbusState.Initialising)
                {
                    break;
                }
                await XenbusOps.ReadOrNullAsync(Client, Backend + "/multi-queue-max-queues", Stopping).ConfigureAwait(false);
                await XenbusOps.ReadOrNullAsync(Client, Backend + "/max-ring-page-order", Stopping).ConfigureAwait(false);
                if (!await PublishAsync(
                [
                    ("ring-ref", (32 + (Device?.Index ?? 0)).ToString(CultureInfo.InvariantCulture)),
                    ("event-channel", (20 + (Device?.Index ?? 0)).ToString(CultureInfo.InvariantCulture)),
                    ("protocol", "x86_64-abi"), ("feature-persistent", "1"),
                ]).ConfigureAwait(false))
                {
                    break;
                }
                await SwitchAsync(XenbusState.Initialised).ConfigureAwait(false);
                break;
            case XenbusState.Connected:
                if (State is XenbusState.Connected or XenbusState.Initialising)
                {
                    break;
                }
                foreach (string key in s_connectKeys)
                {
                    await XenbusOps.ReadOrNullAsync(Client, $"{Backend}/{key}", Stopping).ConfigureAwait(false);
                }
                await SwitchAsync(XenbusState.Connected).ConfigureAwait(false);
                ReportConnected();
                break;
            case XenbusState.Closing:
                await ClosedAsync().ConfigureAwait(false);
                break;
        }
    }
}
