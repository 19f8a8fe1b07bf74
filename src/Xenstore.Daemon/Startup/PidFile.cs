using System.Globalization;

namespace Xenstore.Daemon.Startup;

/// <summary>
/// The pid file Xen's scripts wait for (<c>--pid-file</c>): written by the serving process once it serves, replaced
/// atomically (a reader never sees it half written), removed when the daemon stops. A live update's successor
/// writes its own pid over it, and its predecessor leaves it alone.
/// </summary>
internal sealed class PidFile(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public void Write()
    {
        string? directory = System.IO.Path.GetDirectoryName(Path);
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        string temp = Path + ".tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        using (var file = new StreamWriter(temp, options))
        {
            file.Write(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        }
        File.Move(temp, Path, overwrite: true);
    }

    /// <summary>Removes the file if it still names this process.</summary>
    public void Remove()
    {
        try
        {
            if (File.ReadAllText(Path).Trim() == Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            {
                File.Delete(Path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone already, or replaced by someone else: not ours to remove.
        }
    }
}
