using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// One epoll instance and an eventfd to wake its waiter. Level-triggered: a descriptor with unread bytes is
/// reported again on the next wait, so a reader may take one chunk per wake-up without starving the others.
/// </summary>
internal sealed class Epoll : IDisposable
{
    public const uint In = Libc.EpollIn;
    public const uint Out = Libc.EpollOut;
    public const uint Error = Libc.EpollErr;
    public const uint HangUp = Libc.EpollHup;

    /// <summary>The token reported when <see cref="Wake"/> was called.</summary>
    public const long WakeToken = -1;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly int _maxEvents;
    private readonly byte[] _events;

    /// <param name="maxEvents">Events one wait reports at most (the wake-up included); level triggering reports the rest on the next.</param>
    public Epoll(int maxEvents = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEvents, 1);
        _epoll = Libc.EpollCreate1(Libc.EpollCloseOnExec);
        if (_epoll < 0)
        {
            throw new IOException("epoll_create1 failed: errno " + Marshal.GetLastPInvokeError());
        }
        _wake = Libc.EventFd(0, Libc.EventFdNonBlock | Libc.EventFdCloseOnExec);
        if (_wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = Libc.Close(_epoll);
            throw new IOException("eventfd failed: errno " + errno);
        }
        _maxEvents = maxEvents;
        _events = PinnedBuffer.Allocate(maxEvents * EpollEventLayout.Size);
        Add(_wake, In, WakeToken);
    }

    public void Add(int descriptor, uint events, long token) => Control(Libc.EpollCtlAdd, descriptor, events, token);

    public void Modify(int descriptor, uint events, long token) => Control(Libc.EpollCtlMod, descriptor, events, token);

    /// <summary>
    /// Stops watching a descriptor (closing it does that too, unless another process shares it). Never fails: a
    /// descriptor that is already gone is not watched either.
    /// </summary>
    public void Remove(int descriptor) => TryControl(Libc.EpollCtlDel, descriptor, 0, 0);

    /// <summary>Makes a waiter return (from any thread).</summary>
    public unsafe void Wake()
    {
        ulong one = 1;
        _ = Libc.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    /// <summary>
    /// Waits for events and calls <paramref name="ready"/> for each (the wake-up one included). Returns without
    /// events when the timeout passes or a signal interrupts the wait.
    /// </summary>
    public unsafe void Wait(Action<long, uint> ready, int timeoutMs = -1)
    {
        int count;
        fixed (byte* events = _events)
        {
            count = Libc.EpollWait(_epoll, events, _maxEvents, timeoutMs);
        }
        if (count < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                return;
            }
            throw new IOException("epoll_wait failed: errno " + errno);
        }
        for (int i = 0; i < count; i++)
        {
            (uint flags, ulong data) = EpollEventLayout.Read(_events.AsSpan(i * EpollEventLayout.Size));
            long token = (long)data;
            if (token == WakeToken)
            {
                ulong counter;
                _ = Libc.Read(_wake, (byte*)&counter, sizeof(ulong));
            }
            ready(token, flags);
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
        Span<byte> entry = stackalloc byte[EpollEventLayout.Size];
        EpollEventLayout.Write(entry, events, (ulong)token);
        fixed (byte* pointer = entry)
        {
            return Libc.EpollCtl(_epoll, operation, descriptor, pointer) >= 0;
        }
    }

    public void Dispose()
    {
        _ = Libc.Close(_wake);
        _ = Libc.Close(_epoll);
    }
}
