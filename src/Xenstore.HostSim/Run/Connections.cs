using Xenstore.Client;

namespace Xenstore.HostSim.Run;

/// <summary>
/// Opens the parties' connections (dom0's socket, a domain's simulated ring) and, as each closes, adds its
/// requests to the run's count.
/// </summary>
internal sealed class Connections(HostSimOptions options, RunCounters counters)
{
    private XenstoreClientOptions ClientOptions => new()
    {
        RequestTimeout = options.WaitTimeout * 3,
        // Every watch event matters to a state machine; each re-reads what it needs, so merging is safe.
        CoalesceWatchEvents = true,
    };

    /// <summary>A dom0 process's connection (an <c>xl</c> command, dom0's kernel, a hotplug script).</summary>
    public Task<XenstoreClient> Dom0Async(CancellationToken cancellationToken) =>
        XenstoreClient.ConnectAsync(ClientOptions with { Path = options.SocketPath }, cancellationToken);

    /// <summary>
    /// dom0's kernel: its connection reconnects (re-registering its watches) when the daemon-restart fault is on,
    /// as a kernel's would reach a restarted Xenstore again.
    /// </summary>
    public Task<XenstoreClient> Dom0KernelAsync(CancellationToken cancellationToken) =>
        XenstoreClient.ConnectAsync(ClientOptions with
        {
            Path = options.SocketPath,
            AutoReconnect = options.Fault == FaultKind.DaemonRestart,
            ReconnectDelayMin = TimeSpan.FromMilliseconds(20),
            ReconnectDelayMax = TimeSpan.FromMilliseconds(200),
        }, cancellationToken);

    /// <summary>Domain <paramref name="domid"/>'s kernel connection: its ring in the simulated hypervisor.</summary>
    public Task<XenstoreClient> GuestAsync(int domid, CancellationToken cancellationToken) =>
        XenstoreClient.ConnectSimulatedGuestAsync(options.SimDir, (uint)domid, ClientOptions, cancellationToken);

    /// <summary>Closes a party's connection and counts its requests.</summary>
    public async Task CloseAsync(XenstoreClient client)
    {
        counters.AddRequests(client.Statistics.RequestsSent);
        await client.DisposeAsync().ConfigureAwait(false);
    }
}
