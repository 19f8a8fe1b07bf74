using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>epoll and eventfd (sys/epoll.h, sys/eventfd.h). Entries are laid out by <see cref="EpollEventLayout"/>.</summary>
internal static partial class Libc
{
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;

    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCtlMod = 3;

    public const int EpollCloseOnExec = 0x80000;
    public const int EventFdNonBlock = 0x800;
    public const int EventFdCloseOnExec = 0x80000;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    /// <summary><paramref name="entry"/> is one <c>struct epoll_event</c> in the running architecture's layout.</summary>
    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static unsafe partial int EpollCtl(int epoll, int operation, int descriptor, byte* entry);

    /// <summary><paramref name="entries"/> holds <paramref name="maxEvents"/> entries in the running architecture's layout.</summary>
    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static unsafe partial int EpollWait(int epoll, byte* entries, int maxEvents, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);
}
