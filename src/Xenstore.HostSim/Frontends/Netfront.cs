using System.Globalization;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Frontends;

/// <summary>
/// Linux's xen-netfront: on the backend's InitWait, read its queue and event-channel features and our <c>mac</c>,
/// write rings, event channel and features in one transaction and go Connected directly (skipping Initialised).
/// </summary>
internal sealed class Netfront(GuestKernel kernel, string directory) : FrontendDevice(kernel, directory)
{
    private static readonly string[] s_backendFeatures =
        ["feature-rx-copy", "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6", "feature-ipv6-csum-offload"];

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
                await XenbusOps.ReadOrNullAsync(Client, Backend + "/feature-split-event-channels", Stopping).ConfigureAwait(false);
                await XenbusOps.ReadOrNullAsync(Client, Directory + "/mac", Stopping).ConfigureAwait(false);
                int grant = 8 + (2 * (Device?.Index ?? 0));
                if (!await PublishAsync(
                [
                    ("tx-ring-ref", grant.ToString(CultureInfo.InvariantCulture)),
                    ("rx-ring-ref", (grant + 1).ToString(CultureInfo.InvariantCulture)),
                    ("event-channel", (10 + (Device?.Index ?? 0)).ToString(CultureInfo.InvariantCulture)),
                    ("request-rx-copy", "1"), ("feature-rx-notify", "1"), ("feature-sg", "1"), ("feature-gso-tcpv4", "1"),
                    ("feature-gso-tcpv6", "1"), ("feature-ipv6-csum-offload", "1"),
                ]).ConfigureAwait(false))
                {
                    break;
                }
                foreach (string feature in s_backendFeatures)
                {
                    await XenbusOps.ReadOrNullAsync(Client, $"{Backend}/{feature}", Stopping).ConfigureAwait(false);
                }
                await SwitchAsync(XenbusState.Connected).ConfigureAwait(false);
                break;
            case XenbusState.Connected:
                if (State == XenbusState.Connected)
                {
                    // netdev_notify_peers: the link is up.
                    ReportConnected();
                }
                break;
            case XenbusState.Closing:
                await ClosedAsync().ConfigureAwait(false);
                break;
        }
    }
}
