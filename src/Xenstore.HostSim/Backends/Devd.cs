using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Hotplug;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Backends;

/// <summary>
/// <c>xl devd</c> in a driver domain: watches the domain's own backend subtree; a device directory it has not seen,
/// found in InitWait and online, gets its hotplug script; one found Closed and offline gets its removal script and
/// its backend directory removed (the empty parents are dom0's to remove: the driver domain may not).
/// </summary>
internal sealed class Devd : IAsyncDisposable
{
    private readonly int _domid;
    private readonly XenstoreClient _client;
    private readonly HostContext _host;
    private readonly IHotplugRunner _hotplug;
    private readonly string _root;
    private readonly HashSet<string> _added = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removing = new(StringComparer.Ordinal);
    private readonly List<Task> _scripts = [];
    private Xenwatch? _xenwatch;

    public Devd(int domid, XenstoreClient client, HostContext host, IHotplugRunner hotplug)
    {
        _domid = domid;
        _client = client;
        _host = host;
        _hotplug = hotplug;
        _root = $"/local/domain/{domid}/backend";
    }

    public async Task StartAsync()
    {
        _xenwatch = new Xenwatch(_client, _host.Counters, _host.Deviations, $"xl devd in domain {_domid}", _host.IsOutage);
        await _xenwatch.RegisterAsync(_root, BackendChangedAsync).ConfigureAwait(false);
    }

    private async Task BackendChangedAsync(string path)
    {
        if (_xenwatch is null)
        {
            return;
        }
        if (path == _root)
        {
            // At start-up every device already there is probed (the watch's first event stands for that scan).
            foreach (string existing in await BackendBus.ExistingDevicesAsync(_client, _root, _xenwatch.Stopping).ConfigureAwait(false))
            {
                await BackendChangedAsync(existing).ConfigureAwait(false);
            }
            return;
        }
        if (BackendBus.DeviceDirectory(_root, path) is not { } directory)
        {
            return;
        }
        CancellationToken stopping = _xenwatch.Stopping;
        XenbusState state = await XenbusOps.ReadStateAsync(_client, directory, stopping).ConfigureAwait(false);
        string? online = await XenbusOps.ReadOrNullAsync(_client, directory + "/online", stopping).ConfigureAwait(false);
        SimDevice? device = _host.Registry.Find(directory);
        if (device is null)
        {
            return;
        }
        lock (_added)
        {
            if (state == XenbusState.InitWait && online == "1" && _added.Add(directory))
            {
                Start(RunAsync(device, device.Kind == HotplugDeviceKind.Vif ? HotplugAction.Online : HotplugAction.Add, stopping));
            }
            else if (state == XenbusState.Closed && online == "0" && _added.Contains(directory) && _removing.Add(directory))
            {
                Start(RemoveAsync(device, directory, stopping));
            }
        }
    }

    private void Start(Task script)
    {
        lock (_scripts)
        {
            _scripts.RemoveAll(t => t.IsCompleted);
            _scripts.Add(script);
        }
    }

    private async Task RemoveAsync(SimDevice device, string directory, CancellationToken cancellationToken)
    {
        await RunAsync(device, device.Kind == HotplugDeviceKind.Vif ? HotplugAction.Offline : HotplugAction.Remove, cancellationToken).ConfigureAwait(false);
        try
        {
            await XenbusOps.TransactAsync(_client, _host.Counters, async tx =>
            {
                await XenbusOps.RemoveIfPresentAsync(tx, directory, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreErrorException e)
        {
            _host.Deviations.Add(directory, "xl devd: removing the backend directory", e.Message);
        }
        finally
        {
            lock (_added)
            {
                _added.Remove(directory);
                _removing.Remove(directory);
            }
        }
    }

    private async Task RunAsync(SimDevice device, HotplugAction action, CancellationToken cancellationToken)
    {
        HotplugResult result = await _hotplug.RunAsync(device.Hotplug(action), cancellationToken).ConfigureAwait(false);
        _host.Counters.AddHotplug(result.Processes, result.Elapsed);
        if (_host.Options.Hotplug != HotplugMode.Inline)
        {
            // Inline scripts here share the domain's ring, whose requests are counted with it.
            _host.Counters.AddRequests(result.Requests);
        }
        if (!result.Succeeded && !cancellationToken.IsCancellationRequested)
        {
            _host.Deviations.Add(device.BackendPath, $"xl devd: hotplug {device.KindName} {action} failed", result.Error ?? "(no error text)");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_xenwatch is not null)
        {
            await _xenwatch.DisposeAsync().ConfigureAwait(false);
        }
        Task[] scripts;
        lock (_scripts)
        {
            scripts = [.. _scripts];
        }
        try
        {
            await Task.WhenAll(scripts).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping cancels what devd still awaits. A removal cut short here had already committed: the toolstack
            // destroys the driver domain only once it saw the backend directory go, so only the late reply is lost.
        }
    }
}
