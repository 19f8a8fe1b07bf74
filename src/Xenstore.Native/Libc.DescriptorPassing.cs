using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// Passing descriptors between processes: a connected pair of Unix sockets (<see cref="AfUnix"/>,
/// <see cref="SockStream"/> from the socket calls), and <c>sendmsg</c>/<c>recvmsg</c> with
/// <c>SCM_RIGHTS</c> ancillary data. The struct mirrors are LP64's (x86_64 and arm64 agree).
/// </summary>
internal static partial class Libc
{
    public const int SolSocket = 1;
    public const int ScmRights = 1;
    public const int MsgCtrunc = 0x8;
    public const int MsgCmsgCloexec = 0x40000000;

    /// <summary>Descriptors the kernel takes in one message (SCM_MAX_FD, include/net/scm.h).</summary>
    public const int ScmMaxDescriptors = 253;

    /// <summary><c>struct iovec</c>: 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary><c>struct msghdr</c>: 56 bytes (the name length is followed by 4 bytes of padding).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary><c>struct cmsghdr</c>: 16 bytes, its data after it (aligned to 8).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ControlMessageHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary>CMSG_LEN: a control message's header and <paramref name="dataLength"/> bytes of data.</summary>
    public static unsafe int ControlMessageLength(int dataLength) => sizeof(ControlMessageHeader) + dataLength;

    /// <summary>CMSG_SPACE: the room a control message with that much data takes, padding included.</summary>
    public static int ControlMessageSpace(int dataLength) => ControlMessageLength((dataLength + 7) & ~7);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    public static unsafe partial int SocketPair(int domain, int type, int protocol, int* descriptors);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static unsafe partial nint SendMessage(int descriptor, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static unsafe partial nint ReceiveMessage(int descriptor, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int descriptor, int how);
}
