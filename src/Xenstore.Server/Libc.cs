using System.Runtime.InteropServices;

namespace Xenstore.Server;

/// <summary>
/// The few libc calls .NET has no managed form of: non-blocking FIFO writes and raw reads (the simulated
/// hypervisor), descriptor flags (live update), accept4 and eventfd reads and writes (the store thread's epoll loop).
/// </summary>
internal static partial class Libc
{
    public const int ORdOnly = 0;
    public const int OWrOnly = 1;
    public const int ORdWr = 2;
    public const int ONonBlock = 0x800;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkFifo(string path, uint mode);

    public const int FGetFd = 1;
    public const int FSetFd = 2;
    public const int FdCloexec = 1;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public const int SockNonBlock = 0x800;
    public const int SockCloseOnExec = 0x80000;

    /// <summary>Takes a connection from a listening socket's backlog; without an address, with the given flags.</summary>
    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int descriptor, nint address, nint addressLength, int flags);

    public const int EAgain = 11;
}
