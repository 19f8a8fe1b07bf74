using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// A Linux io_uring used synchronously by one thread: entries are prepared, then one system call submits them all
/// and waits for all of them. Sockets are only handed to it after epoll reported them ready and with MSG_DONTWAIT,
/// so every entry completes at once. It exists because a system call is expensive (about 1 µs each on a
/// virtual machine with page-table isolation): one per batch instead of one per socket.
/// </summary>
internal sealed unsafe class IoUring : IDisposable
{
    public const byte OpSend = IoUringAbi.OpSend;
    public const byte OpRecv = IoUringAbi.OpRecv;

    private readonly int _descriptor;
    private readonly byte* _submissionRing;
    private readonly nint _submissionRingSize;
    private readonly byte* _completionRing;
    private readonly nint _completionRingSize;
    private readonly IoUringSqe* _entries;
    private readonly nint _entriesSize;
    private readonly uint* _submissionHead;
    private readonly uint* _submissionTail;
    private readonly uint* _submissionArray;
    private readonly uint _submissionMask;
    private readonly uint* _completionHead;
    private readonly uint* _completionTail;
    private readonly uint _completionMask;
    private readonly IoUringCqe* _completions;
    private uint _tail;
    private bool _disposed;

    private IoUring(int descriptor, in IoUringParams parameters)
    {
        _descriptor = descriptor;
        Capacity = parameters.SqEntries;
        IoSqringOffsets sq = parameters.SqOff;
        IoCqringOffsets cq = parameters.CqOff;
        _submissionRingSize = (nint)(sq.Array + (Capacity * sizeof(uint)));
        _completionRingSize = (nint)(cq.Cqes + (parameters.CqEntries * (uint)sizeof(IoUringCqe)));
        bool single = (parameters.Features & IoUringAbi.FeatureSingleMmap) != 0;
        if (single)
        {
            _submissionRingSize = _completionRingSize = Math.Max(_submissionRingSize, _completionRingSize);
        }
        _submissionRing = Map(_submissionRingSize, IoUringAbi.OffSqRing);
        _completionRing = single ? _submissionRing : Map(_completionRingSize, IoUringAbi.OffCqRing);
        _entriesSize = (nint)(Capacity * (uint)sizeof(IoUringSqe));
        _entries = (IoUringSqe*)Map(_entriesSize, IoUringAbi.OffSqes);
        _submissionHead = (uint*)(_submissionRing + sq.Head);
        _submissionTail = (uint*)(_submissionRing + sq.Tail);
        _submissionMask = *(uint*)(_submissionRing + sq.RingMask);
        _submissionArray = (uint*)(_submissionRing + sq.Array);
        _completionHead = (uint*)(_completionRing + cq.Head);
        _completionTail = (uint*)(_completionRing + cq.Tail);
        _completionMask = *(uint*)(_completionRing + cq.RingMask);
        _completions = (IoUringCqe*)(_completionRing + cq.Cqes);
        _tail = *_submissionTail;
    }

    /// <summary>How many entries one submission can hold.</summary>
    public uint Capacity { get; }

    /// <summary>A ring of <paramref name="entries"/> entries, or null where io_uring is missing or forbidden.</summary>
    public static IoUring? TryCreate(uint entries)
    {
        IoUringParams parameters = default;
        int descriptor = IoUringAbi.Setup(entries, &parameters);
        if (descriptor < 0)
        {
            return null;
        }
        try
        {
            return new IoUring(descriptor, parameters);
        }
        catch (IOException)
        {
            _ = Libc.Close(descriptor);
            return null;
        }
    }

    /// <summary>Adds a send or receive of one buffer (which must not move until <see cref="SubmitAndWait"/>).</summary>
    public void Prepare(byte opcode, int descriptor, byte* buffer, int length, int messageFlags, ulong userData)
    {
        uint index = _tail & _submissionMask;
        // A whole new entry: the fields not named here are zero, as the kernel wants them.
        _entries[index] = new IoUringSqe
        {
            Opcode = opcode,
            Fd = descriptor,
            Address = (ulong)buffer,
            Length = (uint)length,
            OpFlags = (uint)messageFlags,
            UserData = userData,
        };
        _submissionArray[index] = index;
        _tail++;
    }

    /// <summary>Submits everything prepared and waits until that many completions are waiting.</summary>
    public void SubmitAndWait(int count)
    {
        Volatile.Write(ref *_submissionTail, _tail);
        while (true)
        {
            uint unsubmitted = _tail - Volatile.Read(ref *_submissionHead);
            uint waiting = Volatile.Read(ref *_completionTail) - *_completionHead;
            if (unsubmitted == 0 && waiting >= count)
            {
                return;
            }
            uint minimum = waiting >= count ? 0 : (uint)count - waiting;
            long result = IoUringAbi.Enter(_descriptor, unsubmitted, minimum, IoUringAbi.EnterGetEvents);
            if (result < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR)
            {
                throw new IOException("io_uring_enter failed: errno " + Marshal.GetLastPInvokeError());
            }
        }
    }

    /// <summary>Takes the oldest completion, if any.</summary>
    public bool TryReap(out ulong userData, out int result)
    {
        uint head = *_completionHead;
        if (head == Volatile.Read(ref *_completionTail))
        {
            userData = 0;
            result = 0;
            return false;
        }
        IoUringCqe* completion = _completions + (head & _completionMask);
        userData = completion->UserData;
        result = completion->Result;
        Volatile.Write(ref *_completionHead, head + 1);
        return true;
    }

    private byte* Map(nint length, long offset)
    {
        nint address = Libc.MemoryMap(0, length, Libc.ProtReadWrite, Libc.MapShared | Libc.MapPopulate, _descriptor, offset);
        if (address == Libc.MapFailed)
        {
            throw new IOException("io_uring mmap failed: errno " + Marshal.GetLastPInvokeError());
        }
        return (byte*)address;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _ = Libc.MemoryUnmap((nint)_entries, _entriesSize);
        if (_completionRing != _submissionRing)
        {
            _ = Libc.MemoryUnmap((nint)_completionRing, _completionRingSize);
        }
        _ = Libc.MemoryUnmap((nint)_submissionRing, _submissionRingSize);
        _ = Libc.Close(_descriptor);
    }
}
