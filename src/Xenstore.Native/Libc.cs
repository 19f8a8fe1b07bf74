using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// The libc calls .NET has no managed form of, for descriptors and files: FIFOs, raw reads and writes of devices
/// and FIFOs, descriptor flags, poll, and the raw system call io_uring needs. The other calls are grouped by
/// concern in the other <c>Libc.*.cs</c> files, so a program compiles in only the ones it uses.
/// </summary>
/// <remarks>
/// Flag values are Linux's generic ones (asm-generic/fcntl.h, asm-generic/poll.h), the same on x86_64 and arm64.
/// Errno numbers are in <see cref="Errno"/>.
/// </remarks>
internal static partial class Libc
{
    public const int OWrOnly = 1;
    public const int ORdWr = 2;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;

    public const int FGetFd = 1;
    public const int FSetFd = 2;
    public const int FdCloexec = 1;

    public const short PollIn = 0x1;
    public const short PollOut = 0x4;

    /// <summary><c>struct pollfd</c> (poll.h): 8 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    /// <summary>A system call libc has no wrapper for (io_uring's); returns -1 and sets errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    /// <summary>The <c>strerror</c> text of the last failed call.</summary>
    public static string LastErrorText() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}
