using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// The calls of a daemon going to the background: a pipe its parent waits on, a session of its own, and standard
/// streams moved to /dev/null once it serves.
/// </summary>
internal static partial class Libc
{
    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int oldFd, int newFd);
}
