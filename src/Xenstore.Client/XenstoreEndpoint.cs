namespace Xenstore.Client;

/// <summary>Where a Xenstore client connects, found with the rules of libxenstore's <c>xs_open</c>.</summary>
public static class XenstoreEndpoint
{
    /// <summary>The default run directory of xenstored.</summary>
    public const string DefaultRunDirectory = "/var/run/xenstored";

    /// <summary>
    /// The paths to try, in order: <c>$XENSTORED_PATH</c> alone when set (no fallback, as libxenstore), else
    /// <c>$XENSTORED_RUNDIR/socket</c> (default <c>/var/run/xenstored/socket</c>), then the xenbus device
    /// (<c>/dev/xen/xenbus</c>, or <c>/proc/xen/xenbus</c> on old kernels).
    /// </summary>
    public static IReadOnlyList<string> Candidates()
    {
        string? explicitPath = Environment.GetEnvironmentVariable("XENSTORED_PATH");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return [explicitPath];
        }
        string? runDirectory = Environment.GetEnvironmentVariable("XENSTORED_RUNDIR");
        string socket = System.IO.Path.Combine(string.IsNullOrEmpty(runDirectory) ? DefaultRunDirectory : runDirectory, "socket");
        string device = File.Exists("/dev/xen/xenbus") ? "/dev/xen/xenbus" : "/proc/xen/xenbus";
        return [socket, device];
    }
}
