using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Frontends;

/// <summary>
/// One frontend device as Linux's xenbus core and a frontend driver drive it: the backend's details read at probe,
/// a watch on the backend's <c>state</c>, state switches through xenbus_switch_state.
/// </summary>
internal abstract class FrontendDevice
{
    private readonly List<WatchHandle> _watches = [];

    protected FrontendDevice(GuestKernel kernel, string directory)
    {
        Kernel = kernel;
        Directory = directory;
        Device = kernel.Host.Registry.Find(directory);
    }

    public string Directory { get; }

    protected GuestKernel Kernel { get; }

    protected XenstoreClient Client => Kernel.Client;

    protected CancellationToken Stopping => Kernel.Xenwatch.Stopping;

    protected SimDevice? Device { get; }

    /// <summary>The backend directory, from the frontend's <c>backend</c> key.</summary>
    protected string Backend { get; private set; } = "";

    protected XenbusState State { get; private set; } = XenbusState.Initialising;

    /// <summary>talk_to_otherend, the driver's probe, then the watch on the backend's state (fires at once).</summary>
    public async Task<bool> ProbeAsync()
    {
        await XenbusOps.ReadOrNullAsync(Client, Directory + "/backend-id", Stopping).ConfigureAwait(false);
        string? backend = await XenbusOps.ReadOrNullAsync(Client, Directory + "/backend", Stopping).ConfigureAwait(false);
        if (backend is null || await Client.TryReadAsync(backend, Stopping).ConfigureAwait(false) is null)
        {
            Kernel.Host.Deviations.Add(Directory, "frontend probe: missing other end", backend ?? "(no backend key)");
            return false;
        }
        Backend = backend;
        await ProbeDriverAsync().ConfigureAwait(false);
        _watches.Add(await Kernel.Xenwatch.RegisterAsync(Backend + "/state", async _ =>
        {
            XenbusState backendState = await XenbusOps.ReadStateAsync(Client, Backend, Stopping).ConfigureAwait(false);
            await BackendChangedAsync(backendState).ConfigureAwait(false);
        }).ConfigureAwait(false));
        return true;
    }

    protected virtual Task ProbeDriverAsync() => Task.CompletedTask;

    /// <summary>The driver's otherend_changed.</summary>
    protected abstract Task BackendChangedAsync(XenbusState backendState);

    protected async Task SwitchAsync(XenbusState state)
    {
        if (state == State)
        {
            return;
        }
        await XenbusOps.SwitchStateAsync(Client, Kernel.Host.Counters, Directory, state, Stopping).ConfigureAwait(false);
        State = state;
    }

    /// <summary>
    /// Writes the driver's ring references, event channel and features in one transaction (retried on EAGAIN), or
    /// dies there when the guest-death fault is set for this guest.
    /// </summary>
    /// <returns>False when the guest died instead.</returns>
    protected async Task<bool> PublishAsync((string Key, string Value)[] keys)
    {
        if (Kernel.DiesWhileConnecting)
        {
            // Half the keys make it out before the crash, outside any transaction, as a torn connect would leave.
            foreach ((string key, string value) in keys.Take(keys.Length / 2))
            {
                await Client.WriteAsync($"{Directory}/{key}", value, Stopping).ConfigureAwait(false);
            }
            Kernel.Die();
            return false;
        }
        await XenbusOps.TransactAsync(Client, Kernel.Host.Counters, async tx =>
        {
            foreach ((string key, string value) in keys)
            {
                await tx.WriteAsync($"{Directory}/{key}", value, Stopping).ConfigureAwait(false);
            }
            return true;
        }, Stopping).ConfigureAwait(false);
        return true;
    }

    /// <summary>xenbus_frontend_closed: Closed, once the backend closes.</summary>
    protected Task ClosedAsync() => SwitchAsync(XenbusState.Closed);

    protected void ReportConnected() => Device?.FrontendConnected.TrySetResult();

    public async Task DropWatchesAsync()
    {
        foreach (WatchHandle watch in _watches)
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }
        _watches.Clear();
    }
}
