namespace Xenstore.HostSim;

/// <summary>How hotplug scripts run.</summary>
internal enum HotplugMode
{
    /// <summary>The scripts' exact Xenstore requests made from inside the simulator, one connection per run.</summary>
    Inline,

    /// <summary>Shell scripts as real processes calling the <c>xenstore-*</c> tools.</summary>
    Process,
}

/// <summary>Which <c>xenstore-*</c> tools the process hotplug scripts call.</summary>
internal enum HotplugTools
{
    /// <summary>Debian's <c>xenstore-utils</c> (libxenstore, one connection per call).</summary>
    Debian,

    /// <summary>Our <c>xenstore</c> multi-call tool.</summary>
    Ours,
}

/// <summary>A fault injected during the run.</summary>
internal enum FaultKind
{
    /// <summary>No fault.</summary>
    None,

    /// <summary>A backend driver dies mid-handshake (its watches go, nothing is written) and probes the device again.</summary>
    BackendKill,

    /// <summary>A guest dies while its frontends connect; the toolstack destroys it and the rest carry on.</summary>
    GuestDeath,

    /// <summary>The daemon is SIGKILLed mid-boot and started again; every party reconnects and finishes.</summary>
    DaemonRestart,

    /// <summary>The daemon is live-updated (CONTROL live-update) during the boot storm; nobody notices but a pause.</summary>
    LiveUpdate,
}

/// <summary>Everything the command line sets. Immutable; defaults are a small host.</summary>
internal sealed record HostSimOptions
{
    /// <summary>The daemon's Unix socket, used by dom0's parties (toolstack, dom0 backends, hotplug scripts).</summary>
    public string SocketPath { get; init; } = "/var/run/xenstored/socket";

    /// <summary>The simulated hypervisor's directory (ours: <c>--sim-dir</c>; refxs: <c>$REFXS_HOME/rings</c>).</summary>
    public string SimDir { get; init; } = "";

    /// <summary>Guest domains to boot and destroy.</summary>
    public int Domains { get; init; } = 20;

    /// <summary>Domains being created (or destroyed) at once, as that many concurrent <c>xl</c> commands.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Network interfaces per guest.</summary>
    public int Vifs { get; init; } = 1;

    /// <summary>Disks per guest.</summary>
    public int Vbds { get; init; } = 1;

    /// <summary>Serve network backends from a driver domain (created first, with <c>driver_domain=1</c>).</summary>
    public bool DriverDomain { get; init; }

    /// <summary>With <see cref="DriverDomain"/>: every K-th guest (the 1st, K+1th, ...) has its vifs there.</summary>
    public int DriverDomainEvery { get; init; } = 1;

    /// <summary>How hotplug scripts run.</summary>
    public HotplugMode Hotplug { get; init; } = HotplugMode.Inline;

    /// <summary>Which tools the process scripts call.</summary>
    public HotplugTools Tools { get; init; } = HotplugTools.Ours;

    /// <summary>Directory of the <c>xenstore-*</c> tools for <see cref="HotplugMode.Process"/> (null: from PATH).</summary>
    public string? ToolsDirectory { get; init; }

    /// <summary>Directory of the hotplug scripts for <see cref="HotplugMode.Process"/> (null: the bundled ones).</summary>
    public string? ScriptsDirectory { get; init; }

    /// <summary>Print the JSON report on stdout instead of the table.</summary>
    public bool Json { get; init; }

    /// <summary>No progress line on stderr.</summary>
    public bool Quiet { get; init; }

    /// <summary>The first guest domain id (the driver domain, if any, takes it and guests follow).</summary>
    public int FirstDomid { get; init; } = 1;

    /// <summary>How long any one wait for a watch may take (libxl's device waits are 10 s).</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a hotplug script may run (libxl's is 40 s).</summary>
    public TimeSpan HotplugTimeout { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>The daemon's pid, for its CPU time and RSS (null: from the socket's peer credentials).</summary>
    public int? DaemonPid { get; init; }

    /// <summary>The fault to inject.</summary>
    public FaultKind Fault { get; init; } = FaultKind.None;

    /// <summary>Which guest (0-based, in creation order) the fault hits; null: the middle one.</summary>
    public int? FaultDomain { get; init; }

    /// <summary>Shell command that starts the daemon again after <see cref="FaultKind.DaemonRestart"/>.</summary>
    public string? DaemonCommand { get; init; }

    /// <summary>The binary handed to CONTROL <c>live-update -f</c> for <see cref="FaultKind.LiveUpdate"/>.</summary>
    public string? LiveUpdateBinary { get; init; }

    /// <summary>The guest index the fault hits.</summary>
    public int FaultTarget => FaultDomain ?? Domains / 2;
}
