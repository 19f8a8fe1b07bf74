using System.Runtime.InteropServices;

namespace Xenstore.Native;

// Mirrors of linux/io_uring.h (Linux 6.1, Debian 12's linux-libc-dev). Their sizes and offsets are the same on
// every 64-bit architecture; NativeLayoutTests checks them against the header's values.

/// <summary><c>struct io_sqring_offsets</c>: where the submission ring's fields sit in its mapping.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoSqringOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Flags;
    public uint Dropped;
    public uint Array;
    public uint Reserved1;

    /// <summary><c>resv2</c> in Linux 6.1; <c>user_addr</c> since 6.5 (with IORING_SETUP_NO_MMAP, unused here).</summary>
    public ulong Reserved2;
}

/// <summary><c>struct io_cqring_offsets</c>: where the completion ring's fields sit in its mapping.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoCqringOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Overflow;
    public uint Cqes;
    public uint Flags;
    public uint Reserved1;

    /// <summary><c>resv2</c> in Linux 6.1; <c>user_addr</c> since 6.5.</summary>
    public ulong Reserved2;
}

/// <summary><c>struct io_uring_params</c>: filled in by <c>io_uring_setup</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoUringParams
{
    public uint SqEntries;
    public uint CqEntries;
    public uint Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public uint Features;
    public uint WqFd;
    public fixed uint Reserved[3];
    public IoSqringOffsets SqOff;
    public IoCqringOffsets CqOff;
}

/// <summary>
/// <c>struct io_uring_sqe</c>, one submission entry. The kernel's unions are given by the member this code uses:
/// <see cref="OpFlags"/> is <c>msg_flags</c> for a send or receive (<c>rw_flags</c>, <c>poll32_events</c> and the
/// others share it).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringSqe
{
    public byte Opcode;
    public byte Flags;
    public ushort IoPriority;
    public int Fd;
    public ulong Offset;
    public ulong Address;
    public uint Length;
    public uint OpFlags;
    public ulong UserData;
    public ushort BufIndex;
    public ushort Personality;
    public int SpliceFdIn;
    public ulong Address3;
    public ulong Pad2;
}

/// <summary><c>struct io_uring_cqe</c>, one completion (without IORING_SETUP_CQE32's extra 16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringCqe
{
    public ulong UserData;

    /// <summary>The operation's result: bytes, or a negated errno.</summary>
    public int Result;

    public uint Flags;
}

/// <summary>The io_uring constants and system calls this code uses.</summary>
internal static class IoUringAbi
{
    public const byte OpSend = 26;
    public const byte OpRecv = 27;

    public const uint EnterGetEvents = 1;
    public const uint FeatureSingleMmap = 1;

    /// <summary>The <c>mmap</c> offsets that select the submission ring, the completion ring and the entries.</summary>
    public const long OffSqRing = 0;
    public const long OffCqRing = 0x8000000;
    public const long OffSqes = 0x10000000;

    // Generic system call numbers (asm-generic/unistd.h): the same on every architecture that has io_uring.
    public const long SetupSyscall = 425;
    public const long EnterSyscall = 426;

    /// <summary><c>io_uring_setup</c>: the ring's descriptor, or -1 with errno set.</summary>
    public static unsafe int Setup(uint entries, IoUringParams* parameters) =>
        (int)Libc.Syscall(SetupSyscall, (nint)entries, (nint)parameters, 0, 0, 0, 0);

    /// <summary><c>io_uring_enter</c>: how many entries were submitted, or -1 with errno set.</summary>
    public static long Enter(int ring, uint toSubmit, uint minComplete, uint flags) =>
        Libc.Syscall(EnterSyscall, ring, (nint)toSubmit, (nint)minComplete, (nint)flags, 0, 0);
}
