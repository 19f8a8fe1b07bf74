using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Frontends;

/// <summary>
/// A guest's kernel over its own ring: the frontend bus watches the domain's <c>device</c> directory and probes each
/// new device found Initialising with netfront or blkfront. Callbacks run on one xenwatch loop.
/// </summary>
internal sealed class GuestKernel : IAsyncDisposable
{
    private readonly Dictionary<string, FrontendDevice> _devices = new(StringComparer.Ordinal);
    private readonly string _root;
    private Xenwatch? _xenwatch;

    public GuestKernel(SimDomain domain, XenstoreClient client, HostContext host)
    {
        Domain = domain;
        Client = client;
        Host = host;
        _root = domain.Home + "/device";
    }

    public SimDomain Domain { get; }

    public XenstoreClient Client { get; }

    public HostContext Host { get; }

    public Xenwatch Xenwatch => _xenwatch ?? throw new InvalidOperationException("the kernel is not started");

    /// <summary>Set when the guest dies by fault (guest-death) in the middle of connecting a frontend.</summary>
    public TaskCompletionSource Died { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The guest is to die as its first frontend starts to connect (fault guest-death).</summary>
    public bool DiesWhileConnecting { get; init; }

    public async Task StartAsync()
    {
        _xenwatch = new Xenwatch(Client, Host.Counters, Host.Deviations, $"guest {Domain.Domid}", Host.IsOutage);
        await _xenwatch.RegisterAsync(_root, DeviceChangedAsync).ConfigureAwait(false);
    }

    /// <summary>Linux's xenbus_dev_changed for the frontend bus.</summary>
    private async Task DeviceChangedAsync(string path)
    {
        if (path == _root)
        {
            // xenbus_probe_devices at boot: every device already there (the watch's first event stands for it).
            foreach (string kind in await XenbusOps.ListOrEmptyAsync(Client, _root, Xenwatch.Stopping).ConfigureAwait(false))
            {
                foreach (string id in await XenbusOps.ListOrEmptyAsync(Client, $"{_root}/{kind}", Xenwatch.Stopping).ConfigureAwait(false))
                {
                    await DeviceChangedAsync($"{_root}/{kind}/{id}").ConfigureAwait(false);
                }
            }
            return;
        }
        if (!path.StartsWith(_root + "/", StringComparison.Ordinal))
        {
            return;
        }
        string[] parts = path[(_root.Length + 1)..].Split('/');
        if (parts.Length < 2 || parts[0] is not ("vif" or "vbd"))
        {
            return;
        }
        string directory = $"{_root}/{parts[0]}/{parts[1]}";
        bool exists = await Client.TryReadAsync(directory, Xenwatch.Stopping).ConfigureAwait(false) is not null;
        if (_devices.ContainsKey(directory))
        {
            if (!exists)
            {
                _devices.Remove(directory, out FrontendDevice? gone);
                await gone!.DropWatchesAsync().ConfigureAwait(false);
            }
            return;
        }
        if (!exists || await XenbusOps.ReadStateAsync(Client, directory, Xenwatch.Stopping).ConfigureAwait(false) != XenbusState.Initialising)
        {
            return;
        }
        FrontendDevice device = parts[0] == "vif" ? new Netfront(this, directory) : new Blkfront(this, directory);
        _devices[directory] = device;
        if (!await device.ProbeAsync().ConfigureAwait(false))
        {
            _devices.Remove(directory);
        }
    }

    /// <summary>The guest crashes: it runs no more (the toolstack will destroy it).</summary>
    public void Die()
    {
        Domain.DiedByFault = true;
        Host.Faults.Add($"guest-death: domain {Domain.Domid} died while connecting its frontends");
        Died.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (_xenwatch is not null)
        {
            await _xenwatch.DisposeAsync().ConfigureAwait(false);
        }
    }
}
