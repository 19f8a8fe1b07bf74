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

    /// <summary>
    /// From the command line: <c>--tools debian</c> is <c>xenstore</c> in <see cref="HostSimOptions.ToolsDirectory"/>
    /// (default /usr/bin); <c>--tools ours</c> is <c>xenstore</c> there, else <c>$XENSTORE_CLI</c>.
    /// <see cref="HostSimOptions.ScriptsDirectory"/> names Xen's scripts (default: found, else the reproductions).
    /// The layout goes under the simulation directory (<c>hotplug/</c>), or a temporary one without it.
    /// </summary>
    public static ProcessHotplugSettings From(HostSimOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? toolsExecutable = options.ToolsDirectory is { Length: > 0 } tools ? Path.Combine(tools, "xenstore") : null;
        ProcessToolset toolset = options.Tools == HotplugTools.Debian
            ? toolsExecutable is null ? ProcessToolset.Debian() : new ProcessToolset(ProcessToolKind.Debian, toolsExecutable)
            : ProcessToolset.Ours(toolsExecutable);
        string work = options.SimDir is { Length: > 0 } simulation
            ? Path.Combine(simulation, "hotplug")
            : Directory.CreateTempSubdirectory("xenstore-hostsim-hotplug-").FullName;
        return new ProcessHotplugSettings(options.SocketPath, toolset, work, options.ScriptsDirectory)
        {
            Timeout = options.HotplugTimeout,
        };
    }
}
