using System.Globalization;

namespace Xenstore.HostSim.Host;

/// <summary>A domain of the simulated host: identity, devices and what happened to it.</summary>
internal sealed class SimDomain(int index, int domid, bool isDriverDomain)
{
    /// <summary>Creation order among the guests (-1 for the driver domain).</summary>
    public int Index { get; } = index;

    public int Domid { get; } = domid;

    public bool IsDriverDomain { get; } = isDriverDomain;

    public string Name { get; } = isDriverDomain ? "driver-net" : string.Create(CultureInfo.InvariantCulture, $"guest-{index}");

    public Guid Uuid { get; } = Guid.NewGuid();

    public string Home => string.Create(CultureInfo.InvariantCulture, $"/local/domain/{Domid}");

    public string VmPath => "/vm/" + Uuid.ToString("D");

    public string LibxlPath => string.Create(CultureInfo.InvariantCulture, $"/libxl/{Domid}");

    /// <summary>Devices in libxl's order: disks, then network interfaces.</summary>
    public List<SimDevice> Devices { get; } = [];

    /// <summary>The daemon knows the domain (INTRODUCE answered OK).</summary>
    public bool Introduced { get; set; }

    /// <summary>From the start of creation to every device Connected on both ends.</summary>
    public TimeSpan? BootTime { get; set; }

    public bool Destroyed { get; set; }

    /// <summary>The guest died by injected fault: it is destroyed but not expected to boot.</summary>
    public bool DiedByFault { get; set; }
}
