using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Xenstore.Server.Reactor;

/// <summary>
/// One epoll instance and an eventfd to wake its waiter. Level-triggered: a descriptor with unread bytes is
/// reported again on the next wait, so a reader may take one chunk per wake-up without starving the others.
/// </summary>
internal sealed partial class Epoll : IDisposable
{
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Error = 0x008;
    public const uint HangUp = 0x010;

    /// <summary>The token reported when <see cref="Wake"/> was called.</summary>
    public const long WakeToken = -1;

    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int CtlMod = 3;
    private const int CloseOnExec = Libc.SockCloseOnExec;
    private const int EventFdNonBlock = Libc.SockNonBlock;
    private const int Interrupted = 4;

    // struct epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16 bytes).
    private static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int s_dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly byte[] _events;

    public Epoll(int maxEvents = 256)
    {
        _epoll = EpollCreate1(CloseOnExec);
        if (_epoll < 0)
        {
            throw new IOException("epoll_create1 failed: errno " + Marshal.GetLastPInvokeError());
        }
        _wake = EventFd(0, EventFdNonBlock | CloseOnExec);
        if (_wake < 0)
        {
            throw new IOException("eventfd failed: errno " + Marshal.GetLastPInvokeError());
        }
        _events = new byte[maxEvents * s_eventSize];
        Add(_wake, In, WakeToken);
    }

    public void Add(int descriptor, uint events, long token) => Control(CtlAdd, descriptor, events, token);

    public void Modify(int descriptor, uint events, long token) => Control(CtlMod, descriptor, events, token);

    /// <summary>
    /// Stops watching a descriptor (closing it does that too, unless another process shares it). Never fails: a
    /// descriptor that is already gone is not watched either.
    /// </summary>
    public void Remove(int descriptor) => TryControl(CtlDel, descriptor, 0, 0);

    /// <summary>Makes a waiter return (from any thread).</summary>
    public unsafe void Wake()
    {
        ulong one = 1;
        _ = Libc.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    /// <summary>Waits for events and calls <paramref name="ready"/> for each (the wake-up one included).</summary>
    public unsafe void Wait(Action<long, uint> ready, int timeoutMs = -1)
    {
        int count;
        fixed (byte* events = _events)
        {
            count = EpollWait(_epoll, events, _events.Length / s_eventSize, timeoutMs);
        }
        if (count < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Interrupted)
            {
                return;
            }
            throw new IOException("epoll_wait failed: errno " + errno);
        }
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> entry = _events.AsSpan(i * s_eventSize, s_eventSize);
            uint events = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            long token = BinaryPrimitives.ReadInt64LittleEndian(entry[s_dataOffset..]);
            if (token == WakeToken)
            {
                ulong counter;
                _ = Libc.Read(_wake, (byte*)&counter, sizeof(ulong));
            }
            ready(token, events);
        }
    }

    private void Control(int operation, int descriptor, uint events, long token)
    {
        if (!TryControl(operation, descriptor, events, token))
        {
            throw new IOException($"epoll_ctl({operation}) on descriptor {descriptor} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private unsafe bool TryControl(int operation, int descriptor, uint events, long token)
    {
        byte* entry = stackalloc byte[16];
        new Span<byte>(entry, 16).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(entry, 4), events);
        BinaryPrimitives.WriteInt64LittleEndian(new Span<byte>(entry + s_dataOffset, 8), token);
        return EpollCtl(_epoll, operation, descriptor, entry) >= 0;
    }

    public void Dispose()
    {
        _ = Libc.Close(_wake);
        _ = Libc.Close(_epoll);
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static unsafe partial int EpollCtl(int epoll, int operation, int descriptor, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static unsafe partial int EpollWait(int epoll, byte* events, int maxEvents, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);
}
