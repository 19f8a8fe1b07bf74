namespace Xenstore.HostSim.Hotplug;

/// <summary>
/// The block device behind a simulated phy disk. Xen's <c>block</c> script insists that <c>params</c> names a block
/// device and writes its major:minor as <c>physical-device</c>, so every vbd gets a device node of its own (only the
/// node: nothing ever opens it), created by the process runner where <c>params</c> says, numbered by
/// <see cref="PhysicalDevice"/>. <see cref="NodePath"/> is a place for them that needs no root-owned directory.
/// </summary>
internal static class SimulatedDisk
{
    /// <summary>Device-mapper's major number, as a volume-group disk would have.</summary>
    private const int Major = 0xfd;

    /// <summary>The directory of the nodes, shared by every simulation on the machine (a node's number depends
    /// only on its name, so concurrent simulations agree on it).</summary>
    public static string Directory { get; } = Path.Combine(Path.GetTempPath(), "xenstore-hostsim-disks");

    /// <summary>The <c>params</c> of the vbd <paramref name="deviceId"/> of domain <paramref name="frontendDomid"/>.</summary>
    public static string NodePath(int frontendDomid, int deviceId) =>
        Path.Combine(Directory, $"vbd-{frontendDomid}-{deviceId}");

    /// <summary>Major and minor of the node, in hex without leading zeros as <c>stat -c %t:%T</c> prints them.</summary>
    public static string PhysicalDevice(int frontendDomid, int deviceId) =>
        $"{Major:x}:{Minor(frontendDomid, deviceId):x}";

    /// <summary>
    /// Minor numbers have 20 bits: 16 disks for each of 65536 domains. A vbd's device id is either small (0, 1, …)
    /// or Linux's encoding of its name (xvda = 202&lt;&lt;8, xvdb = 202&lt;&lt;8 | 16, …); folding the two low nibbles
    /// together tells the first 16 apart either way.
    /// </summary>
    private static int Minor(int frontendDomid, int deviceId) =>
        ((frontendDomid & 0xffff) << 4) | (((deviceId >> 4) ^ deviceId) & 0xf);
}
