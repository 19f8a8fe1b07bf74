namespace Xenstore.HostSim.Hotplug;

/// <summary>The device classes whose backends run a hotplug script.</summary>
internal enum HotplugDeviceKind
{
    /// <summary>A network interface: Xen's <c>vif-bridge</c> script.</summary>
    Vif,

    /// <summary>A block device: Xen's <c>block</c> script.</summary>
    Vbd,
}

/// <summary>What a hotplug script is asked to do, as libxl names its command argument.</summary>
internal enum HotplugAction
{
    /// <summary><c>vif-bridge online</c>.</summary>
    Online,

    /// <summary><c>vif-bridge offline</c>.</summary>
    Offline,

    /// <summary><c>block add</c>.</summary>
    Add,

    /// <summary><c>block remove</c>.</summary>
    Remove,
}

/// <summary>
/// One run of a hotplug script for one device, with what libxl puts in the script's environment:
/// <c>XENBUS_PATH</c> is <paramref name="BackendPath"/>, <c>XENBUS_TYPE</c> the device class, and for a vif
/// <c>vif</c> is the interface name.
/// </summary>
/// <param name="Kind">The device class.</param>
/// <param name="Action">The script's command argument.</param>
/// <param name="BackendPath">The device's backend directory, e.g. <c>/local/domain/0/backend/vif/5/0</c>.</param>
/// <param name="FrontendDomid">The guest's domain id.</param>
/// <param name="BackendDomid">The domain serving the backend (0, or a driver domain).</param>
/// <param name="DeviceId">The device id under the backend directory.</param>
internal sealed record HotplugInvocation(
    HotplugDeviceKind Kind,
    HotplugAction Action,
    string BackendPath,
    int FrontendDomid,
    int BackendDomid,
    int DeviceId);

/// <summary>What one hotplug run cost, for the report.</summary>
/// <param name="Succeeded">Whether the script left <c>hotplug-status</c> as its action expects.</param>
/// <param name="Requests">Xenstore requests the script made (counted where they can be: inline).</param>
/// <param name="Processes">Processes started (0 inline; one per CLI call and shell otherwise).</param>
/// <param name="Elapsed">Wall time of the run.</param>
/// <param name="Error">Why it failed, when it did: the script's stderr or the daemon's answer.</param>
internal sealed record HotplugResult(bool Succeeded, int Requests, int Processes, TimeSpan Elapsed, string? Error);

/// <summary>
/// Runs hotplug scripts for the simulated toolstack (dom0) and for <c>xl devd</c> in driver domains. Two
/// implementations: inline (the scripts' exact Xenstore requests from inside the simulator, one connection each)
/// and as real processes (shell scripts calling <c>xenstore-read</c>/<c>-write</c>/<c>-list</c>).
/// </summary>
internal interface IHotplugRunner
{
    /// <summary>Runs one script to completion; never throws for a script failure, which the result reports.</summary>
    Task<HotplugResult> RunAsync(HotplugInvocation invocation, CancellationToken cancellationToken);
}
