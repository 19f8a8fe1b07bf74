namespace Xenstore.HostSim.Hotplug;

/// <summary>What the process runner needs to know about the host it simulates.</summary>
/// <param name="SocketPath">The daemon's socket; the tools get it as <c>XENSTORED_PATH</c>.</param>
/// <param name="Tools">Whose <c>xenstore-*</c> tools the scripts call.</param>
/// <param name="WorkDirectory">
/// Where the runner lays out the scripts, the tool links and stand-ins, the host-wide locks and the scripts' logs.
/// </param>
/// <param name="XenScriptsDirectory">
/// Xen's own hotplug scripts (<c>vif-bridge</c>, <c>block</c> and the files they source); null looks for them
/// (<see cref="XenScripts.Find"/>) and falls back to the reproductions shipped in <c>hotplug-scripts/reproduced</c>.
/// </param>
/// <param name="UseReproducedScripts">Run the reproductions even where Xen's scripts are installed.</param>
internal sealed record ProcessHotplugSettings(
    string SocketPath,
    ProcessToolset Tools,
    string WorkDirectory,
    string? XenScriptsDirectory = null,
    bool UseReproducedScripts = false)
{
    /// <summary>How long a script may run before it is killed and the run fails: libxl's hotplug timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(40);
}
