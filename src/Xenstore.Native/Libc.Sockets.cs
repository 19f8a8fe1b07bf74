using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>Socket calls without a managed form: accept4 with flags, and send/recv on a raw descriptor.</summary>
internal static partial class Libc
{
    public const int SockNonBlock = 0x800;
    public const int SockCloseOnExec = 0x80000;

    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;

    /// <summary>Takes a connection from a listening socket's backlog; without an address, with the given flags.</summary>
    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int descriptor, nint address, nint addressLength, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static unsafe partial nint Receive(int descriptor, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static unsafe partial nint Send(int descriptor, byte* buffer, nint length, int flags);
}
