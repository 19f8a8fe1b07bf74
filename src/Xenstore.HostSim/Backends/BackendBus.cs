using Xenstore.Client;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Backends;

/// <summary>
/// The backend bus as Linux's xenbus and <c>xl devd</c> both read it: a watch on a domain's <c>backend</c> directory
/// fires for anything below it, and names a device by its directory <c>backend/KIND/FRONTEND/ID</c>.
/// </summary>
internal static class BackendBus
{
    /// <summary>The device directory a watch event below <paramref name="root"/> belongs to, or null (not a vif or vbd).</summary>
    public static string? DeviceDirectory(string root, string path)
    {
        if (!path.StartsWith(root + "/", StringComparison.Ordinal))
        {
            return null;
        }
        string[] parts = path[(root.Length + 1)..].Split('/');
        return parts.Length < 3 || parts[0] is not ("vif" or "vbd") ? null : $"{root}/{parts[0]}/{parts[1]}/{parts[2]}";
    }

    /// <summary>Every device directory already there: what the watch's first event stands for at start-up.</summary>
    public static async Task<List<string>> ExistingDevicesAsync(XenstoreClient client, string root, CancellationToken cancellationToken)
    {
        var devices = new List<string>();
        foreach (string kind in await XenbusOps.ListOrEmptyAsync(client, root, cancellationToken).ConfigureAwait(false))
        {
            foreach (string frontend in await XenbusOps.ListOrEmptyAsync(client, $"{root}/{kind}", cancellationToken).ConfigureAwait(false))
            {
                foreach (string id in await XenbusOps.ListOrEmptyAsync(client, $"{root}/{kind}/{frontend}", cancellationToken).ConfigureAwait(false))
                {
                    devices.Add($"{root}/{kind}/{frontend}/{id}");
                }
            }
        }
        return devices;
    }
}
