using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xenstore.Native;
using Xenstore.Protocol;

namespace Xenstore.Server.Tests;

/// <summary>
/// The native layer's mirrors of kernel and Xen structs, and its constants, against the C headers. The expected
/// values were printed by a C program (sizeof, offsetof, the macros) built with gcc on Debian 12 x86_64 from
/// linux/io_uring.h (linux-libc-dev 6.1), sys/epoll.h, poll.h, fcntl.h, sys/socket.h (with the CMSG macros), errno.h (glibc 2.36) and
/// xenctrl.h with xen/domctl.h (libxen-dev 4.17, compiled with __XEN_TOOLS__).
/// </summary>
public sealed class NativeLayoutTests
{
    public static TheoryData<Type, int> Sizes => new()
    {
        { typeof(IoUringParams), 120 },
        { typeof(IoSqringOffsets), 40 },
        { typeof(IoCqringOffsets), 40 },
        { typeof(IoUringSqe), 64 },
        { typeof(IoUringCqe), 16 },
        // struct epoll_event: 12 on x86_64 (packed); 16 on arm64, where the header has no EPOLL_PACKED.
        { typeof(PackedEpollEvent), 12 },
        { typeof(AlignedEpollEvent), 16 },
        { typeof(Libc.PollFd), 8 },
        { typeof(Libc.MessageHeader), 56 },
        { typeof(Libc.IoVector), 16 },
        { typeof(Libc.ControlMessageHeader), 16 },
        { typeof(XenDomainInfo), 112 },
        { typeof(XenX86ArchDomainConfig), 8 },
    };

    public static TheoryData<Type, string, int> Offsets => new()
    {
        { typeof(IoUringParams), nameof(IoUringParams.SqEntries), 0 },
        { typeof(IoUringParams), nameof(IoUringParams.CqEntries), 4 },
        { typeof(IoUringParams), nameof(IoUringParams.Flags), 8 },
        { typeof(IoUringParams), nameof(IoUringParams.SqThreadCpu), 12 },
        { typeof(IoUringParams), nameof(IoUringParams.SqThreadIdle), 16 },
        { typeof(IoUringParams), nameof(IoUringParams.Features), 20 },
        { typeof(IoUringParams), nameof(IoUringParams.WqFd), 24 },
        { typeof(IoUringParams), nameof(IoUringParams.Reserved), 28 },
        { typeof(IoUringParams), nameof(IoUringParams.SqOff), 40 },
        { typeof(IoUringParams), nameof(IoUringParams.CqOff), 80 },

        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.Head), 0 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.Tail), 4 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.RingMask), 8 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.RingEntries), 12 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.Flags), 16 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.Dropped), 20 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.Array), 24 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.Reserved1), 28 },
        { typeof(IoSqringOffsets), nameof(IoSqringOffsets.Reserved2), 32 },

        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.Head), 0 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.Tail), 4 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.RingMask), 8 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.RingEntries), 12 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.Overflow), 16 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.Cqes), 20 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.Flags), 24 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.Reserved1), 28 },
        { typeof(IoCqringOffsets), nameof(IoCqringOffsets.Reserved2), 32 },

        { typeof(IoUringSqe), nameof(IoUringSqe.Opcode), 0 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Flags), 1 },
        { typeof(IoUringSqe), nameof(IoUringSqe.IoPriority), 2 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Fd), 4 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Offset), 8 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Address), 16 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Length), 24 },
        { typeof(IoUringSqe), nameof(IoUringSqe.OpFlags), 28 },
        { typeof(IoUringSqe), nameof(IoUringSqe.UserData), 32 },
        { typeof(IoUringSqe), nameof(IoUringSqe.BufIndex), 40 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Personality), 42 },
        { typeof(IoUringSqe), nameof(IoUringSqe.SpliceFdIn), 44 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Address3), 48 },
        { typeof(IoUringSqe), nameof(IoUringSqe.Pad2), 56 },

        { typeof(IoUringCqe), nameof(IoUringCqe.UserData), 0 },
        { typeof(IoUringCqe), nameof(IoUringCqe.Result), 8 },
        { typeof(IoUringCqe), nameof(IoUringCqe.Flags), 12 },

        { typeof(PackedEpollEvent), nameof(PackedEpollEvent.Events), 0 },
        { typeof(PackedEpollEvent), nameof(PackedEpollEvent.Data), 4 },
        { typeof(AlignedEpollEvent), nameof(AlignedEpollEvent.Events), 0 },
        { typeof(AlignedEpollEvent), nameof(AlignedEpollEvent.Data), 8 },

        { typeof(Libc.PollFd), nameof(Libc.PollFd.Fd), 0 },
        { typeof(Libc.PollFd), nameof(Libc.PollFd.Events), 4 },
        { typeof(Libc.PollFd), nameof(Libc.PollFd.Revents), 6 },

        { typeof(XenDomainInfo), nameof(XenDomainInfo.Domain), 0 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.Pad1), 2 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.Flags), 4 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.TotPages), 8 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.MaxPages), 16 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.OutstandingPages), 24 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.ShrPages), 32 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.PagedPages), 40 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.SharedInfoFrame), 48 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.CpuTime), 56 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.NrOnlineVcpus), 64 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.MaxVcpuId), 68 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.SsidRef), 72 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.Handle), 76 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.CpuPool), 92 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.GpaddrBits), 96 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.Pad2), 97 },
        { typeof(XenDomainInfo), nameof(XenDomainInfo.ArchConfig), 104 },
        { typeof(XenX86ArchDomainConfig), nameof(XenX86ArchDomainConfig.EmulationFlags), 0 },
        { typeof(XenX86ArchDomainConfig), nameof(XenX86ArchDomainConfig.MiscFlags), 4 },
        { typeof(Libc.MessageHeader), nameof(Libc.MessageHeader.Name), 0 },
        { typeof(Libc.MessageHeader), nameof(Libc.MessageHeader.NameLength), 8 },
        { typeof(Libc.MessageHeader), nameof(Libc.MessageHeader.Vectors), 16 },
        { typeof(Libc.MessageHeader), nameof(Libc.MessageHeader.VectorCount), 24 },
        { typeof(Libc.MessageHeader), nameof(Libc.MessageHeader.Control), 32 },
        { typeof(Libc.MessageHeader), nameof(Libc.MessageHeader.ControlLength), 40 },
        { typeof(Libc.MessageHeader), nameof(Libc.MessageHeader.Flags), 48 },
        { typeof(Libc.ControlMessageHeader), nameof(Libc.ControlMessageHeader.Length), 0 },
        { typeof(Libc.ControlMessageHeader), nameof(Libc.ControlMessageHeader.Level), 8 },
        { typeof(Libc.ControlMessageHeader), nameof(Libc.ControlMessageHeader.Type), 12 },
    };

    public static TheoryData<string, long, long> Constants => new()
    {
        { "IORING_OP_SEND", IoUringAbi.OpSend, 26 },
        { "IORING_OP_RECV", IoUringAbi.OpRecv, 27 },
        { "IORING_ENTER_GETEVENTS", IoUringAbi.EnterGetEvents, 1 },
        { "IORING_FEAT_SINGLE_MMAP", IoUringAbi.FeatureSingleMmap, 1 },
        { "IORING_OFF_SQ_RING", IoUringAbi.OffSqRing, 0 },
        { "IORING_OFF_CQ_RING", IoUringAbi.OffCqRing, 0x8000000 },
        { "IORING_OFF_SQES", IoUringAbi.OffSqes, 0x10000000 },
        { "__NR_io_uring_setup", IoUringAbi.SetupSyscall, 425 },
        { "__NR_io_uring_enter", IoUringAbi.EnterSyscall, 426 },
        { "EPOLLIN", Libc.EpollIn, 0x1 },
        { "EPOLLOUT", Libc.EpollOut, 0x4 },
        { "EPOLLERR", Libc.EpollErr, 0x8 },
        { "EPOLLHUP", Libc.EpollHup, 0x10 },
        { "EPOLL_CTL_ADD", Libc.EpollCtlAdd, 1 },
        { "EPOLL_CTL_DEL", Libc.EpollCtlDel, 2 },
        { "EPOLL_CTL_MOD", Libc.EpollCtlMod, 3 },
        { "EPOLL_CLOEXEC", Libc.EpollCloseOnExec, 0x80000 },
        { "EFD_NONBLOCK", Libc.EventFdNonBlock, 0x800 },
        { "EFD_CLOEXEC", Libc.EventFdCloseOnExec, 0x80000 },
        { "PROT_READ|PROT_WRITE", Libc.ProtReadWrite, 3 },
        { "MAP_SHARED", Libc.MapShared, 1 },
        { "MAP_POPULATE", Libc.MapPopulate, 0x8000 },
        { "POLLIN", Libc.PollIn, 1 },
        { "O_WRONLY", Libc.OWrOnly, 1 },
        { "O_RDWR", Libc.ORdWr, 2 },
        { "O_NOCTTY", Libc.ONoCtty, 0x100 },
        { "O_NONBLOCK", Libc.ONonBlock, 0x800 },
        { "O_CLOEXEC", Libc.OCloExec, 0x80000 },
        { "F_GETFD", Libc.FGetFd, 1 },
        { "F_SETFD", Libc.FSetFd, 2 },
        { "FD_CLOEXEC", Libc.FdCloexec, 1 },
        { "SOCK_NONBLOCK", Libc.SockNonBlock, 0x800 },
        { "SOCK_CLOEXEC", Libc.SockCloseOnExec, 0x80000 },
        { "MSG_DONTWAIT", Libc.MsgDontWait, 0x40 },
        { "MSG_NOSIGNAL", Libc.MsgNoSignal, 0x4000 },
        { "MSG_CTRUNC", Libc.MsgCtrunc, 8 },
        { "MSG_CMSG_CLOEXEC", Libc.MsgCmsgCloexec, 0x40000000 },
        { "AF_UNIX", Libc.AfUnix, 1 },
        { "SOCK_STREAM", Libc.SockStream, 1 },
        { "SOL_SOCKET", Libc.SolSocket, 1 },
        { "SCM_RIGHTS", Libc.ScmRights, 1 },
        { "CMSG_LEN(4)", Libc.ControlMessageLength(4), 20 },
        { "CMSG_SPACE(4)", Libc.ControlMessageSpace(4), 24 },
        { "CMSG_SPACE(253 * 4)", Libc.ControlMessageSpace(253 * 4), 1032 },
        { "XEN_DOMINF_dying", XenNative.DomInfoDying, 1 },
        { "XEN_DOMINF_shutdown", XenNative.DomInfoShutdown, 4 },
        { "VIRQ_DOM_EXC", XenNative.VirqDomExc, 3 },
        { "GNTTAB_RESERVED_XENSTORE", XenNative.GnttabReservedXenstore, 1 },
        { "EPERM", Errno.EPERM, 1 },
        { "ENOENT", Errno.ENOENT, 2 },
        { "EINTR", Errno.EINTR, 4 },
        { "EIO", Errno.EIO, 5 },
        { "E2BIG", Errno.E2BIG, 7 },
        { "EBADF", Errno.EBADF, 9 },
        { "EAGAIN", Errno.EAGAIN, 11 },
        { "ENOMEM", Errno.ENOMEM, 12 },
        { "EACCES", Errno.EACCES, 13 },
        { "EBUSY", Errno.EBUSY, 16 },
        { "EEXIST", Errno.EEXIST, 17 },
        { "EISDIR", Errno.EISDIR, 21 },
        { "EINVAL", Errno.EINVAL, 22 },
        { "ENOSPC", Errno.ENOSPC, 28 },
        { "EROFS", Errno.EROFS, 30 },
        { "EPIPE", Errno.EPIPE, 32 },
        { "ENOSYS", Errno.ENOSYS, 38 },
        { "ENOTEMPTY", Errno.ENOTEMPTY, 39 },
        { "ECONNABORTED", Errno.ECONNABORTED, 103 },
        { "ECONNRESET", Errno.ECONNRESET, 104 },
        { "EISCONN", Errno.EISCONN, 106 },
        { "ETIMEDOUT", Errno.ETIMEDOUT, 110 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Mirror_HasTheHeadersSize(Type mirror, int size)
    {
        Assert.Equal(size, Marshal.SizeOf(mirror));
        // The size pointer arithmetic uses, which is what an array of entries in a ring is made of.
        int managed = (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(mirror).Invoke(null, null)!;
        Assert.Equal(size, managed);
    }

    [Theory]
    [MemberData(nameof(Offsets))]
    public void MirrorField_IsAtTheHeadersOffset(Type mirror, string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf(mirror, field));

    [Theory]
    [MemberData(nameof(Constants))]
    public void Constant_HasTheHeadersValue(string name, long actual, long expected) =>
        Assert.True(actual == expected, $"{name} is {actual}, the header says {expected}");

    [Fact]
    public void EpollEntries_UseTheRunningArchitecturesLayout()
    {
        bool x64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
        Assert.Equal(x64, EpollEventLayout.IsPacked);
        Assert.Equal(x64 ? 12 : 16, EpollEventLayout.Size);
    }

    [Fact]
    public void EpollEntry_PutsTheDataWhereTheKernelReadsIt()
    {
        byte[] entry = new byte[16];
        entry.AsSpan().Fill(0xEE);
        EpollEventLayout.Write(entry, Epoll.In | Epoll.Out, 0x0123_4567_89AB_CDEF);
        int dataOffset = EpollEventLayout.IsPacked ? 4 : 8;
        Assert.Equal(Epoll.In | Epoll.Out, BinaryPrimitives.ReadUInt32LittleEndian(entry));
        Assert.Equal(0x0123_4567_89AB_CDEFul, BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(dataOffset)));
        Assert.Equal((Epoll.In | Epoll.Out, 0x0123_4567_89AB_CDEFul), EpollEventLayout.Read(entry));
    }

    [Fact]
    public void Epoll_ReportsTheWholeTokenOfAReadyDescriptor()
    {
        // An eventfd with a count of one is readable at once; the token uses all 64 bits, so an entry read at the
        // wrong offset or width cannot give it back.
        int ready = Libc.EventFd(1, Libc.EventFdCloseOnExec);
        Assert.True(ready >= 0);
        try
        {
            using var epoll = new Epoll(maxEvents: 4);
            const long Token = 0x7123_4567_89AB_CDEF;
            epoll.Add(ready, Epoll.In, Token);
            var reported = new List<(long Token, uint Events)>();
            epoll.Wait((token, events) => reported.Add((token, events)), timeoutMs: 0);
            Assert.Equal([(Token, Epoll.In)], reported);
        }
        finally
        {
            _ = Libc.Close(ready);
        }
    }

    [Fact]
    public void DomainInfoBuffer_HoldsEveryArchitecturesStruct() =>
        // arm64's xc_domaininfo_t is 120 bytes (its xen_arch_domainconfig is 12, x86_64's 8).
        Assert.True(XenNative.DomainInfoBufferSize >= 120);

    [Fact]
    public void ErrorNames_MapToTheirErrnoAndText()
    {
        Assert.Equal(Errno.ENOENT, Errno.Of(XsError.ENOENT));
        Assert.Equal(Errno.EAGAIN, Errno.Of(XsError.EAGAIN));
        Assert.Equal(Errno.EPERM, Errno.Of(XsError.EPERM));
        Assert.Equal(Errno.EINVAL, Errno.Of(XsError.None));
        foreach (XsError error in Enum.GetValues<XsError>().Where(e => e != XsError.None))
        {
            Assert.Equal(XsErrors.Name(error), ErrnoName(Errno.Of(error)));
        }
        Assert.Equal("Resource temporarily unavailable", Errno.Text(Errno.EAGAIN));
    }

    private static string ErrnoName(int number) =>
        typeof(Errno).GetFields().Single(f => f.IsLiteral && (int)f.GetValue(null)! == number).Name;
}
