using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Backends;

/// <summary>
/// One backend device as Linux's xenbus core and a backend driver drive it: the other end's details read at
/// probe, a watch on the frontend's <c>state</c>, state switches through xenbus_switch_state.
/// </summary>
internal abstract class BackendDevice
{
    private readonly List<WatchHandle> _watches = [];

    protected BackendDevice(BackendKernel kernel, string directory)
    {
        Kernel = kernel;
        Directory = directory;
        Device = kernel.Registry.Find(directory);
    }

    public string Directory { get; }

    protected BackendKernel Kernel { get; }

    protected XenstoreClient Client => Kernel.Client;

    protected CancellationToken Stopping => Kernel.Xenwatch.Stopping;

    /// <summary>The toolstack's record of this device (null for one it did not create).</summary>
    protected SimDevice? Device { get; }

    /// <summary>The frontend directory, from the backend's <c>frontend</c> key.</summary>
    protected string Frontend { get; private set; } = "";

    /// <summary>The state this end last switched to.</summary>
    protected XenbusState State { get; private set; } = XenbusState.Initialising;

    /// <summary>
    /// talk_to_otherend, the driver's probe, then the watch on the frontend's state (which fires at once).
    /// </summary>
    /// <returns>False when the device cannot be probed (its other end is missing).</returns>
    public async Task<bool> ProbeAsync()
    {
        await XenbusOps.ReadOrNullAsync(Client, Directory + "/frontend-id", Stopping).ConfigureAwait(false);
        string? frontend = await XenbusOps.ReadOrNullAsync(Client, Directory + "/frontend", Stopping).ConfigureAwait(false);
        if (frontend is null || await Client.TryReadAsync(frontend, Stopping).ConfigureAwait(false) is null)
        {
            Kernel.Deviations.Add(Directory, "backend probe: missing other end", frontend ?? "(no frontend key)");
            return false;
        }
        Frontend = frontend;
        await ProbeDriverAsync().ConfigureAwait(false);
        await WatchAsync(Frontend + "/state", async _ =>
        {
            XenbusState frontendState = await XenbusOps.ReadStateAsync(Client, Frontend, Stopping).ConfigureAwait(false);
            await FrontendChangedAsync(frontendState).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return true;
    }

    /// <summary>The driver's probe: features, its own watches, InitWait when the driver switches at probe.</summary>
    protected abstract Task ProbeDriverAsync();

    /// <summary>The driver's frontend_changed.</summary>
    protected abstract Task FrontendChangedAsync(XenbusState frontendState);

    /// <summary>The driver's remove.</summary>
    protected virtual Task RemoveDriverAsync() => Task.CompletedTask;

    /// <summary>A watch kept until the device is removed.</summary>
    protected Task WatchAsync(string path, Func<string, Task> callback) => WatchHandleAsync(path, callback);

    protected async Task UnwatchAsync(WatchHandle handle)
    {
        _watches.Remove(handle);
        await handle.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>A watch kept until the device is removed, or until <see cref="UnwatchAsync"/> drops it earlier.</summary>
    protected async Task<WatchHandle> WatchHandleAsync(string path, Func<string, Task> callback)
    {
        WatchHandle handle = await Kernel.Xenwatch.RegisterAsync(path, callback).ConfigureAwait(false);
        _watches.Add(handle);
        return handle;
    }

    /// <summary>xenbus_switch_state (skipped when already there, as Linux does).</summary>
    protected async Task SwitchAsync(XenbusState state)
    {
        if (state == State)
        {
            return;
        }
        await XenbusOps.SwitchStateAsync(Client, Kernel.Counters, Directory, state, Stopping).ConfigureAwait(false);
        State = state;
        if (state == XenbusState.Connected)
        {
            Device?.BackendConnected.TrySetResult();
        }
    }

    /// <summary>Closed, then unregistered when the toolstack took the device offline (or the frontend is gone).</summary>
    protected async Task CloseAsync(XenbusState frontendState)
    {
        await SwitchAsync(XenbusState.Closed).ConfigureAwait(false);
        if (frontendState == XenbusState.Closed
            && await XenbusOps.ReadOrNullAsync(Client, Directory + "/online", Stopping).ConfigureAwait(false) == "1")
        {
            return;
        }
        await Kernel.UnregisterAsync(this).ConfigureAwait(false);
    }

    /// <summary>Unregisters every watch of the device.</summary>
    public async Task DropWatchesAsync()
    {
        foreach (WatchHandle watch in _watches)
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }
        _watches.Clear();
    }

    /// <summary>
    /// xenbus_dev_remove: drop the watches, the driver's remove, and Closed if the toolstack had forced Closing.
    /// </summary>
    public async Task RemoveAsync()
    {
        await DropWatchesAsync().ConfigureAwait(false);
        await RemoveDriverAsync().ConfigureAwait(false);
        if (await XenbusOps.ReadStateAsync(Client, Directory, Stopping).ConfigureAwait(false) == XenbusState.Closing)
        {
            await XenbusOps.SwitchStateAsync(Client, Kernel.Counters, Directory, XenbusState.Closed, Stopping).ConfigureAwait(false);
        }
    }
}
