using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>Settings of the server around the engine.</summary>
public sealed record ServerOptions
{
    /// <summary>Unix socket path for dom0 clients; null for none (an embedded server with in-memory connections only).</summary>
    public string? SocketPath { get; init; }

    /// <summary>Which hypervisor serves guest rings; none means the socket only.</summary>
    public HypervisorKind Hypervisor { get; init; } = HypervisorKind.None;

    /// <summary>The directory of the simulated hypervisor (<c>ring.N</c>, <c>evt</c>, <c>dying.N</c>, <c>notify.N</c>).</summary>
    public string? SimulationDirectory { get; init; }

    /// <summary>Directory of the snapshot and journal; null keeps the state in memory only.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>
    /// Journal size that triggers a new snapshot (also at least twice the last snapshot's size).
    /// <remarks>Defaults to 8 MiB.</remarks>
    /// </summary>
    public long SnapshotAfterBytes { get; init; } = 8L << 20;

    /// <summary>fsync the journal after every batch (for state on a disk rather than tmpfs).</summary>
    public bool Fsync { get; init; }

    /// <summary>A loopback TCP port serving Prometheus text at <c>/metrics</c>; null (the default) for none.</summary>
    public int? MetricsPort { get; init; }

    /// <summary>
    /// Set by a daemon that starts as the successor of a live update: its inherited end of the channel to the
    /// daemon it replaces (<c>--live-update-state FD</c>), on which it stands by until handed the sockets.
    /// </summary>
    public int? LiveUpdateChannel { get; init; }

    /// <summary>
    /// Run as the Xenstore domain: the privileged domain (dom0 unless <see cref="EngineOptions.PrivilegedDomid"/>
    /// says otherwise) is served over its ring, introduced by the daemon itself at start, and so is every domain that
    /// already exists then. Needs a hypervisor; a socket is served only when <see cref="SocketPath"/> is set.
    /// </summary>
    public bool XenstoreDomain { get; init; }

    /// <summary>
    /// The privileged domain's event channel (its unbound port whose remote end is the Xenstore domain), as the C
    /// stub domain is given it with <c>--event</c>. The simulated hypervisor ignores it.
    /// </summary>
    public uint PrivilegedEventChannel { get; init; }

    /// <summary>
    /// A file that receives the access trace in C xenstored's format (its <c>-T</c>), with the <c>io</c> and
    /// <c>conn</c> switches on from the start; null (the default) traces to the log when switched on.
    /// </summary>
    public string? TraceFile { get; init; }

    /// <summary>Trace switch changes applied at start, in order, as CONTROL log takes them (<c>+io</c>, <c>-obj</c>).</summary>
    public IReadOnlyList<string> TraceSwitches { get; init; } = [];

    /// <summary>
    /// The clock of the accounting (requests per second, store-thread time) and of the refusal log's rate limit;
    /// the system's unless a test sets its own.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The engine's settings (quotas, privileged domain, features).</summary>
    public EngineOptions Engine { get; init; } = new();

    /// <summary>
    /// Watch events queued for a socket connection that does not read them, beyond which new events are dropped.
    /// <remarks>Defaults to 65536; guests use the <c>watch-events</c> quota.</remarks>
    /// </summary>
    public int SocketEventLimit { get; init; } = 65536;

    /// <summary>
    /// Output bytes queued for a connection beyond which the daemon stops reading its requests.
    /// <remarks>Defaults to 1 MiB.</remarks>
    /// </summary>
    public int MaxPendingOutputBytes { get; init; } = 1 << 20;

    /// <summary>
    /// A guest's replies and events not yet copied into its ring beyond which the daemon stops reading its requests
    /// until it reads (a guest that never reads costs a bounded amount).
    /// <remarks>Defaults to 16 KiB.</remarks>
    /// </summary>
    public int MaxPendingRingOutputBytes { get; init; } = 16 * 1024;

    /// <summary>
    /// Writes a second an unprivileged guest may make while transactions are open before its requests wait
    /// (XSA-206); 0 turns the limit off. Per domain (C shares its rate among all domains).
    /// <remarks>Defaults to 200, C xenstored's rate.</remarks>
    /// </summary>
    public int GuestWriteRate { get; init; } = 200;

    /// <summary>Writes a guest may make at once under <see cref="GuestWriteRate"/>.<remarks>Defaults to 10, as C.</remarks></summary>
    public int GuestWriteBurst { get; init; } = 10;

    /// <summary>
    /// Whether the sends and receives of many sockets go to the kernel in one io_uring submission. Where io_uring
    /// is missing or forbidden the daemon falls back to one system call each on its own.
    /// <remarks>Defaults to true.</remarks>
    /// </summary>
    public bool UseIoUring { get; init; } = true;
}

/// <summary>Where guest rings come from.</summary>
public enum HypervisorKind
{
    /// <summary>No guests: INTRODUCE is tracked by the store but no ring is served.</summary>
    None,
    /// <summary>Files and FIFOs in <see cref="ServerOptions.SimulationDirectory"/>.</summary>
    Simulated,
    /// <summary>Real Xen through libxenevtchn, libxengnttab and libxenctrl.</summary>
    Xen,
}
