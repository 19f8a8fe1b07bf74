using System.Globalization;

namespace Xenstore.Daemon.Startup;

/// <summary>
/// The background daemon's side of <see cref="BackgroundStart"/>: a session of its own (no terminal signals),
/// standard input from /dev/null, and once it serves, "ready" to the waiting parent and standard output and error
/// to /dev/null (as C's finish_daemonize), since nobody reads them any more.
/// </summary>
internal sealed class ReadinessPipe
{
    private int _descriptor;

    private ReadinessPipe(int descriptor) => _descriptor = descriptor;

    /// <summary>The pipe when this process is the background daemon; null in the foreground.</summary>
    public static ReadinessPipe? TakeFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(BackgroundStart.ReadyVariable);
        if (text is null || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int descriptor))
        {
            return null;
        }
        // Not for a live update's successor, which is started by this process later.
        Environment.SetEnvironmentVariable(BackgroundStart.ReadyVariable, null);
        Libc.Fcntl(descriptor, Libc.FSetFd, Libc.FdCloexec);
        Libc.SetSid();
        RedirectToDevNull(0);
        return new ReadinessPipe(descriptor);
    }

    /// <summary>Tells the parent that the daemon serves, and detaches from its output.</summary>
    public unsafe void Signal()
    {
        if (_descriptor < 0)
        {
            return;
        }
        Console.Out.Flush();
        Console.Error.Flush();
        DetachFromOutput();
        byte* ready = stackalloc byte[] { (byte)'r', (byte)'e', (byte)'a', (byte)'d', (byte)'y', (byte)'\n' };
        Libc.Write(_descriptor, ready, 6);
        Libc.Close(_descriptor);
        _descriptor = -1;
    }

    /// <summary>
    /// Points standard output and error at /dev/null, and every other descriptor on the same files: .NET's console
    /// writes through copies of descriptors 1 and 2 made when it was first used, and as long as one stays open, a
    /// caller reading the command's output (<c>$(xenstored ...)</c>, a test) never sees its end.
    /// </summary>
    private static void DetachFromOutput()
    {
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (int fd in new[] { 1, 2 })
        {
            if (new FileInfo($"/proc/self/fd/{fd}").LinkTarget is { } target)
            {
                targets.Add(target);
            }
        }
        var descriptors = new List<int> { 1, 2 };
        foreach (string entry in Directory.GetFiles("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd) && fd > 2
                && new FileInfo(entry).LinkTarget is { } target && targets.Contains(target))
            {
                descriptors.Add(fd);
            }
        }
        foreach (int fd in descriptors)
        {
            RedirectToDevNull(fd);
        }
    }

    private static void RedirectToDevNull(int target)
    {
        int devNull = Libc.Open("/dev/null", Libc.ORdWr);
        if (devNull < 0)
        {
            return;
        }
        if (devNull != target)
        {
            Libc.Dup2(devNull, target);
            Libc.Close(devNull);
        }
    }
}
