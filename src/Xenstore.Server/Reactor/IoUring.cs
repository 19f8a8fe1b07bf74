using System.Runtime.InteropServices;

namespace Xenstore.Server.Reactor;

/// <summary>
/// A Linux io_uring used synchronously by one thread: entries are prepared, then one system call submits them all
/// and waits for all of them. Sockets are only handed to it after epoll reported them ready and with MSG_DONTWAIT,
/// so every entry completes at once. It exists because a system call is expensive (about 1 µs each on a
/// virtual machine with page-table isolation): one per batch instead of one per socket.
/// </summary>
internal sealed unsafe partial class IoUring : IDisposable
{
    public const byte OpSend = 26;
    public const byte OpRecv = 27;

    // Generic system call numbers, the same on every architecture Linux gives io_uring.
    private const long SetupSyscall = 425;
    private const long EnterSyscall = 426;
    private const uint EnterGetEvents = 1;
    private const uint FeatureSingleMmap = 1;
    private const long SubmissionRingOffset = 0;
    private const long CompletionRingOffset = 0x8000000;
    private const long EntriesOffset = 0x10000000;
    private const int ProtReadWrite = 0x1 | 0x2;
    private const int MapSharedPopulate = 0x01 | 0x8000;
    private const int EntrySize = 64;
    private const int CompletionSize = 16;
    private const int ParametersSize = 120;
    private const int Interrupted = 4;

    private readonly int _descriptor;
    private readonly byte* _submissionRing;
    private readonly nint _submissionRingSize;
    private readonly byte* _completionRing;
    private readonly nint _completionRingSize;
    private readonly byte* _entries;
    private readonly nint _entriesSize;
    private readonly uint* _submissionHead;
    private readonly uint* _submissionTail;
    private readonly uint* _submissionArray;
    private readonly uint _submissionMask;
    private readonly uint* _completionHead;
    private readonly uint* _completionTail;
    private readonly uint _completionMask;
    private readonly byte* _completions;
    private uint _tail;
    private bool _disposed;

    private IoUring(int descriptor, byte* parameters)
    {
        _descriptor = descriptor;
        Capacity = *(uint*)parameters;
        uint completionEntries = *(uint*)(parameters + 4);
        uint features = *(uint*)(parameters + 20);
        // struct io_sqring_offsets at 40, struct io_cqring_offsets at 80 (each ten 32-bit fields and a u64).
        uint* sq = (uint*)(parameters + 40);
        uint* cq = (uint*)(parameters + 80);
        _submissionRingSize = (nint)(sq[6] + Capacity * sizeof(uint));
        _completionRingSize = (nint)(cq[5] + completionEntries * CompletionSize);
        bool single = (features & FeatureSingleMmap) != 0;
        if (single)
        {
            _submissionRingSize = _completionRingSize = Math.Max(_submissionRingSize, _completionRingSize);
        }
        _submissionRing = Map(_submissionRingSize, SubmissionRingOffset);
        _completionRing = single ? _submissionRing : Map(_completionRingSize, CompletionRingOffset);
        _entriesSize = (nint)(Capacity * EntrySize);
        _entries = Map(_entriesSize, EntriesOffset);
        _submissionHead = (uint*)(_submissionRing + sq[0]);
        _submissionTail = (uint*)(_submissionRing + sq[1]);
        _submissionMask = *(uint*)(_submissionRing + sq[2]);
        _submissionArray = (uint*)(_submissionRing + sq[6]);
        _completionHead = (uint*)(_completionRing + cq[0]);
        _completionTail = (uint*)(_completionRing + cq[1]);
        _completionMask = *(uint*)(_completionRing + cq[2]);
        _completions = _completionRing + cq[5];
        _tail = *_submissionTail;
    }

    /// <summary>How many entries one submission can hold.</summary>
    public uint Capacity { get; }

    /// <summary>A ring of <paramref name="entries"/> entries, or null where io_uring is missing or forbidden.</summary>
    public static IoUring? TryCreate(uint entries)
    {
        byte* parameters = stackalloc byte[ParametersSize];
        new Span<byte>(parameters, ParametersSize).Clear();
        long descriptor = Syscall(SetupSyscall, (nint)entries, (nint)parameters, 0, 0, 0, 0);
        if (descriptor < 0)
        {
            return null;
        }
        try
        {
            return new IoUring((int)descriptor, parameters);
        }
        catch (IOException)
        {
            _ = Close((int)descriptor);
            return null;
        }
    }

    /// <summary>Adds a send or receive of one buffer (which must not move until <see cref="SubmitAndWait"/>).</summary>
    public void Prepare(byte opcode, int descriptor, byte* buffer, int length, int messageFlags, ulong userData)
    {
        uint index = _tail & _submissionMask;
        byte* entry = _entries + (index * EntrySize);
        new Span<byte>(entry, EntrySize).Clear();
        entry[0] = opcode;
        *(int*)(entry + 4) = descriptor;
        *(ulong*)(entry + 16) = (ulong)buffer;
        *(uint*)(entry + 24) = (uint)length;
        *(int*)(entry + 28) = messageFlags;
        *(ulong*)(entry + 32) = userData;
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
            nint minimum = waiting >= count ? 0 : (nint)(count - waiting);
            long result = Syscall(EnterSyscall, _descriptor, (nint)unsubmitted, minimum, (nint)EnterGetEvents, 0, 0);
            if (result < 0 && Marshal.GetLastPInvokeError() != Interrupted)
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
        byte* completion = _completions + ((head & _completionMask) * CompletionSize);
        userData = *(ulong*)completion;
        result = *(int*)(completion + 8);
        Volatile.Write(ref *_completionHead, head + 1);
        return true;
    }

    private byte* Map(nint length, long offset)
    {
        nint address = MemoryMap(0, length, ProtReadWrite, MapSharedPopulate, _descriptor, offset);
        if (address == -1)
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
        _ = MemoryUnmap((nint)_entries, _entriesSize);
        if (_completionRing != _submissionRing)
        {
            _ = MemoryUnmap((nint)_completionRing, _completionRingSize);
        }
        _ = MemoryUnmap((nint)_submissionRing, _submissionRingSize);
        _ = Close(_descriptor);
    }

    // Its own imports, not Libc's: the load generator compiles this file in as well.
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MemoryMap(nint address, nint length, int protection, int flags, int descriptor, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int MemoryUnmap(nint address, nint length);
}
