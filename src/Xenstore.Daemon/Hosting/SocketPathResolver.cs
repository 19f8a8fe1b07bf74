namespace Xenstore.Daemon.Hosting;

/// <summary>Where to listen when --socket is not given, in the order libxenstore looks for the daemon.</summary>
internal static class SocketPathResolver
{
    public const string SystemPath = "/var/run/xenstored/socket";

    public static string Resolve(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return explicitPath;
        }
        string? fromEnvironment = Environment.GetEnvironmentVariable("XENSTORED_PATH");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }
        string? runDir = Environment.GetEnvironmentVariable("XENSTORED_RUNDIR");
        if (!string.IsNullOrEmpty(runDir))
        {
            return Path.Combine(runDir, "socket");
        }
        if (CanUseDirectory(Path.GetDirectoryName(SystemPath)!))
        {
            return SystemPath;
        }
        string userRuntime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Path.GetTempPath(), "xenstored-" + Environment.UserName);
        return Path.Combine(userRuntime, "xenstored", "socket");
    }

    private static bool CanUseDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, ".probe-" + Environment.ProcessId);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
