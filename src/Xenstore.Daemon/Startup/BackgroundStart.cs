using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Xenstore.Daemon.Startup;

/// <summary>
/// Going to the background as C xenstored does by default, but with its parent returning only once the daemon
/// serves: the parent starts the same program again (a .NET process cannot fork), passing it the write end of a
/// pipe, and waits. The daemon writes "ready" there once it listens and its pid file is written, then the parent
/// exits 0; if the daemon dies first, the parent exits with its code. So <c>xenstored --pid-file F &amp;&amp; use it</c>
/// works, and so does Xen's launch-xenstore, which waits for the pid file after the command returns.
/// </summary>
internal static class BackgroundStart
{
    /// <summary>The environment variable that tells the daemon it is the background process, and its pipe.</summary>
    public const string ReadyVariable = "XENSTORED_READY_FD";

    /// <summary>Starts the daemon in the background with <paramref name="args"/> and waits until it serves.</summary>
    public static unsafe int StartAndWait(string[] args)
    {
        int* fds = stackalloc int[2];
        if (Libc.Pipe2(fds, 0) != 0)
        {
            Console.Error.WriteLine($"xenstored: cannot go to the background: pipe: {Marshal.GetLastPInvokeErrorMessage()}");
            return 1;
        }
        // Only the daemon may hold the write end, or the parent would never see the end of the pipe.
        Libc.Fcntl(fds[0], Libc.FSetFd, Libc.FdCloexec);
        ProcessStartInfo info = SelfCommand.StartInfo(args);
        info.Environment[ReadyVariable] = fds[1].ToString(CultureInfo.InvariantCulture);
        Process daemon;
        try
        {
            daemon = Process.Start(info) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"xenstored: cannot go to the background: {e.Message}");
            return 1;
        }
        finally
        {
            Libc.Close(fds[1]);
        }
        using (daemon)
        {
            using var pipe = new FileStream(new SafeFileHandle(fds[0], ownsHandle: true), FileAccess.Read, bufferSize: 1);
            using var reader = new StreamReader(pipe);
            if (reader.ReadToEnd().StartsWith("ready", StringComparison.Ordinal))
            {
                return 0;
            }
            daemon.WaitForExit();
            return daemon.ExitCode == 0 ? 1 : daemon.ExitCode;
        }
    }
}
