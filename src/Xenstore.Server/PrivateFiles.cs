namespace Xenstore.Server;

/// <summary>
/// Files and directories only the daemon may read: the state directory (0700) and what it holds (0600), the trace
/// file, the live-update handover. They hold a copy of the whole store, and a handover holds clients' bytes.
/// </summary>
internal static class PrivateFiles
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Options that create the file 0600 (an existing file keeps its mode: see <see cref="Restrict"/>).</summary>
    public static FileStreamOptions Options(System.IO.FileMode mode, FileAccess access, FileShare share = FileShare.Read)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }
        return options;
    }

    /// <summary>Creates the directory 0700, or narrows an existing one (and the files in it) to 0700 and 0600.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        Directory.CreateDirectory(path, DirectoryMode);
        File.SetUnixFileMode(path, DirectoryMode);
        foreach (string file in Directory.EnumerateFiles(path))
        {
            Restrict(file);
        }
    }

    /// <summary>Narrows an existing file to 0600 (one an older version created wider).</summary>
    public static void Restrict(string path)
    {
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~FileMode) != 0)
        {
            File.SetUnixFileMode(path, FileMode);
        }
    }
}
