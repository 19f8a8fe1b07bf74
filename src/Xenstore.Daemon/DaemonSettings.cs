using Xenstore.Store;

namespace Xenstore.Daemon;

/// <summary>What the command line asked for.</summary>
internal sealed class DaemonSettings
{
    public string? SocketPath { get; set; }

    public QuotaSet Quotas { get; } = new();

    public uint? PrivilegedDomid { get; set; }

    public bool Verbose { get; set; }

    public string? SimulationDirectory { get; set; }

    /// <summary>Null: next to the socket (<c>&lt;socket&gt;.state</c>).</summary>
    public string? StateDirectory { get; set; }

    public bool NoPersistence { get; set; }

    public bool Fsync { get; set; }

    public bool NoIoUring { get; set; }

    public int? MetricsPort { get; set; }

    /// <summary>Internal: set by a daemon that hands over to this one in a live update.</summary>
    public string? LiveUpdateState { get; set; }

    public long SnapshotAfterBytes { get; set; } = 8L << 20;

    /// <summary>"none", "sim" or "xen"; null picks Xen when /dev/xen/evtchn exists.</summary>
    public string? Hypervisor { get; set; }

    /// <summary>Serve the privileged domain over its ring; a socket only when one is asked for.</summary>
    public bool XenstoreDomain { get; set; }

    /// <summary>The privileged domain's event channel (<c>--event</c>), for the Xenstore domain on Xen.</summary>
    public uint? EventChannel { get; set; }

    public bool ShowHelp { get; set; }
}
