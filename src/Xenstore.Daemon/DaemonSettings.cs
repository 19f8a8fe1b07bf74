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

    /// <summary>"none", "sim" or "xen"; null picks Xen when /dev/xen/evtchn exists.</summary>
    public string? Hypervisor { get; set; }

    public bool ShowHelp { get; set; }
}
