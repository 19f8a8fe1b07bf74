using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Run;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Backends;

/// <summary>
/// A backend domain's kernel (dom0's, or a driver domain's over its own ring): the backend bus watches the whole
/// <c>backend</c> subtree, probes each new device directory found in Initialising with netback or blkback, and
/// unregisters a device whose directory went. Callbacks run on one xenwatch loop.
/// </summary>
internal sealed class BackendKernel : IAsyncDisposable
{
    private readonly Dictionary<string, BackendDevice> _devices = new(StringComparer.Ordinal);
    private readonly string _root;
    private Xenwatch? _xenwatch;

    public BackendKernel(int domid, XenstoreClient client, HostContext host)
    {
        Domid = domid;
        Client = client;
        Host = host;
        _root = $"/local/domain/{domid}/backend";
    }

    public int Domid { get; }

    public XenstoreClient Client { get; }

    public HostContext Host { get; }

    public RunCounters Counters => Host.Counters;

    public Deviations Deviations => Host.Deviations;

    public DeviceRegistry Registry => Host.Registry;

    public Xenwatch Xenwatch => _xenwatch ?? throw new InvalidOperationException("the kernel is not started");

    public async Task StartAsync()
    {
        _xenwatch = new Xenwatch(Client, Counters, Deviations, $"backend domain {Domid}", Host.IsOutage);
        await _xenwatch.RegisterAsync(_root, OnBackendChangedAsync).ConfigureAwait(false);
    }

    /// <summary>Linux's xenbus_dev_changed for the backend bus.</summary>
    private async Task OnBackendChangedAsync(string path)
    {
        if (path == _root)
        {
            // At start-up every device already there is probed (the watch's first event stands for that scan).
            foreach (string existing in await BackendBus.ExistingDevicesAsync(Client, _root, Xenwatch.Stopping).ConfigureAwait(false))
            {
                await OnBackendChangedAsync(existing).ConfigureAwait(false);
            }
            return;
        }
        if (BackendBus.DeviceDirectory(_root, path) is not { } directory)
        {
            return;
        }
        bool exists = (await Client.TryReadAsync(directory, Xenwatch.Stopping).ConfigureAwait(false)) is not null;
        if (_devices.TryGetValue(directory, out BackendDevice? known))
        {
            if (!exists)
            {
                await UnregisterAsync(known).ConfigureAwait(false);
            }
            return;
        }
        if (!exists || await XenbusOps.ReadStateAsync(Client, directory, Xenwatch.Stopping).ConfigureAwait(false) != XenbusState.Initialising)
        {
            return;
        }
        BackendDevice device = directory[(_root.Length + 1)..].StartsWith("vif/", StringComparison.Ordinal)
            ? new Netback(this, directory) : new Blkback(this, directory);
        _devices[directory] = device;
        bool probed = false;
        try
        {
            probed = await device.ProbeAsync().ConfigureAwait(false);
        }
        finally
        {
            if (!probed)
            {
                // Probed again at the next event (after a reconnection, the watch's first).
                _devices.Remove(directory);
            }
        }
    }

    /// <summary>Unregisters a device (its driver's remove, then the bus's own close).</summary>
    public async Task UnregisterAsync(BackendDevice device)
    {
        if (_devices.Remove(device.Directory))
        {
            await device.RemoveAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Whether the driver of <paramref name="directory"/> is to die now (fault backend-kill), once.</summary>
    public bool TakeKill(string directory) => Host.BackendsToKill.TryRemove(directory, out _);

    /// <summary>
    /// The driver dies mid-handshake (its watches go, nothing is written) and is bound again, as after a driver
    /// reload: a fresh probe of the same directory, which must take the handshake to its end from where it stood.
    /// </summary>
    public async Task KillAndReprobeAsync(BackendDevice device)
    {
        _devices.Remove(device.Directory);
        await device.DropWatchesAsync().ConfigureAwait(false);
        Host.Faults.Add($"backend-kill: the driver of {device.Directory} died mid-handshake and was probed again");
        BackendDevice fresh = device is Netback ? new Netback(this, device.Directory) : new Blkback(this, device.Directory);
        _devices[device.Directory] = fresh;
        if (!await fresh.ProbeAsync().ConfigureAwait(false))
        {
            _devices.Remove(device.Directory);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_xenwatch is not null)
        {
            await _xenwatch.DisposeAsync().ConfigureAwait(false);
        }
    }
}
