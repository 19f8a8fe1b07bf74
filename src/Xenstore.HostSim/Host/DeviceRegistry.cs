using System.Collections.Concurrent;

namespace Xenstore.HostSim.Host;

/// <summary>The devices the toolstack created, found by either end's path, so each end can report Connected.</summary>
internal sealed class DeviceRegistry
{
    private readonly ConcurrentDictionary<string, SimDevice> _byPath = new(StringComparer.Ordinal);

    public void Add(SimDevice device)
    {
        _byPath[device.BackendPath] = device;
        _byPath[device.FrontendPath] = device;
    }

    public SimDevice? Find(string path) => _byPath.TryGetValue(path, out SimDevice? device) ? device : null;
}
