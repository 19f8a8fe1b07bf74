using Xenstore.Client;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Run;

/// <summary>Every node of the store, read by dom0 (the checks' own connection, not counted in the run).</summary>
internal static class TreeScan
{
    public static async Task<HashSet<string>> AllNodesAsync(XenstoreClient client, CancellationToken cancellationToken)
    {
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push("/");
        while (pending.TryPop(out string? path))
        {
            foreach (string child in await XenbusOps.ListOrEmptyAsync(client, path, cancellationToken).ConfigureAwait(false))
            {
                string full = path == "/" ? "/" + child : path + "/" + child;
                nodes.Add(full);
                pending.Push(full);
            }
        }
        return nodes;
    }
}
