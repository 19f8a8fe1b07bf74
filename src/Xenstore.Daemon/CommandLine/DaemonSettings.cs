using Xenstore.Store;

namespace Xenstore.Daemon.CommandLine;

/// <summary>What the command line asked for.</summary>
internal sealed class DaemonSettings
{
    public string? SocketPath { get; set; }

    public QuotaSet Quotas { get; } = new();

    public uint? PrivilegedDomid { get; set; }

    /// <summary>C's <c>--master-domid</c>: the domain a Xenstore domain serves as the privileged one at start.</summary>
    public uint? MasterDomid { get; set; }

    public bool Verbose { get; set; }

    public string? SimulationDirectory { get; set; }

    /// <summary>Null: next to the socket (<c>&lt;socket&gt;.state</c>).</summary>
    public string? StateDirectory { get; set; }

    public bool NoPersistence { get; set; }

    public bool Fsync { get; set; }

    public bool NoIoUring { get; set; }

    public int? MetricsPort { get; set; }

    /// <summary>Internal: set by a daemon that hands over to this one in a live update (the channel's descriptor).</summary>
    public int? LiveUpdateState { get; set; }

    public long SnapshotAfterBytes { get; set; } = 8L << 20;

    /// <summary>Writes a second a guest may make while transactions are open (XSA-206); 0: no limit.</summary>
    public int GuestWriteRate { get; set; } = 200;

    /// <summary>Writes a guest may make at once under that limit.</summary>
    public int GuestWriteBurst { get; set; } = 10;

    /// <summary>"none", "sim" or "xen"; null picks Xen when /dev/xen/evtchn exists.</summary>
    public string? Hypervisor { get; set; }

    /// <summary>Serve the privileged domain over its ring; a socket only when one is asked for.</summary>
    public bool XenstoreDomain { get; set; }

    /// <summary>The privileged domain's event channel (<c>--event</c>), for the Xenstore domain on Xen.</summary>
    public uint? EventChannel { get; set; }

    /// <summary>Stay in the foreground (<c>-N</c>); a live update's successor always does.</summary>
    public bool NoFork { get; set; }

    /// <summary>Where the serving process writes its pid (<c>-F</c>).</summary>
    public string? PidFile { get; set; }

    /// <summary>Print the serving process's pid on stdout once it serves (4.17's <c>-P</c>).</summary>
    public bool OutputPid { get; set; }

    /// <summary>The access trace in C's format (<c>-T</c>).</summary>
    public string? TraceFile { get; set; }

    /// <summary>The <c>--trace-control</c> arguments in order (<c>+io</c>, <c>-obj</c>).</summary>
    public List<string> TraceControl { get; } = [];

    /// <summary>Options accepted that have no effect here, each with why: printed as warnings at start.</summary>
    public List<string> Warnings { get; } = [];

    public bool ShowHelp { get; set; }

    public bool PrintManPage { get; set; }
}
