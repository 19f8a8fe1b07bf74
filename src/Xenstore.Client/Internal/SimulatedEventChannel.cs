using System.Buffers.Binary;

namespace Xenstore.Client.Internal;

/// <summary>
/// Guest N's event channel in the simulated hypervisor. Kicking the daemon writes the little-endian u32
/// <c>100+N</c> into the FIFO <c>DIR/evt</c>. The daemon's kicks arrive through the FIFO <c>DIR/notify.N</c>, which
/// this class creates and reads on a thread of its own, or, for a caller that polls it itself
/// (<see cref="NotificationDescriptor"/>), not at all; daemons that never notify are covered by polling.
/// </summary>
internal sealed class SimulatedEventChannel : IDisposable
{
    /// <summary>Local port of guest N's channel in the simulation (both daemons bind 100+N).</summary>
    public const uint PortBase = 100;

    private static readonly TimeSpan s_notifiedPoll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_maxPoll = TimeSpan.FromMilliseconds(8);

    private readonly string _eventFifo;
    private readonly string _notifyFifo;
    private readonly uint _port;
    private readonly int _notifyFd;
    private readonly bool _listening;
    private readonly Lock _kickLock = new();
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _kickFd = -1;
    private volatile bool _daemonNotifies;
    private volatile bool _closed;
    private bool _notifyClosed;

    /// <summary>Without <c>listen</c>, no thread reads the notifications: the caller polls <see cref="NotificationDescriptor"/>.</summary>
    public SimulatedEventChannel(string directory, uint domid, bool listen = true)
    {
        _eventFifo = Path.Combine(directory, "evt");
        _notifyFifo = Path.Combine(directory, $"notify.{domid}");
        _port = PortBase + domid;
        if (Libc.MkFifo(_notifyFifo, (uint)(UnixFileMode.UserRead | UnixFileMode.UserWrite)) != 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Errno.EEXIST)
        {
            throw new IOException($"cannot create {_notifyFifo}: {Libc.LastErrorText()}");
        }
        // Read-write, so opening never waits for a writer and reads never see end-of-file.
        _notifyFd = Libc.Open(_notifyFifo, Libc.ORdWr | Libc.OCloExec | (listen ? 0 : Libc.ONonBlock));
        if (_notifyFd < 0)
        {
            throw new IOException($"cannot open {_notifyFifo}: {Libc.LastErrorText()}");
        }
        _listening = listen;
        if (!listen)
        {
            return;
        }
        var listener = new Thread(Listen) { IsBackground = true, Name = "xenstore notify." + domid };
        listener.Start();
    }

    /// <summary>The notification FIFO, readable when the daemon kicked (a channel made with <c>listen: false</c>).</summary>
    public int NotificationDescriptor => _notifyFd;

    /// <summary>Whether the daemon has ever notified this channel (else the ring must be polled briskly).</summary>
    public bool DaemonNotifies => _daemonNotifies;

    /// <summary>Empties the notification FIFO of a channel polled by its caller.</summary>
    public unsafe void DrainNotifications()
    {
        const int Size = 256;
        byte* buffer = stackalloc byte[Size];
        // A short read emptied it: no further read just to be told so.
        nint read;
        do
        {
            read = Libc.Read(_notifyFd, buffer, Size);
            if (read > 0)
            {
                _daemonNotifies = true;
            }
        }
        while (read == Size);
    }

    /// <summary>Completes at the next kick from the daemon. Take it before looking at the ring, then wait on it.</summary>
    public Task NextSignal => Volatile.Read(ref _signal).Task;

    /// <summary>How long a reader waits before looking at the ring again when nothing woke it.</summary>
    public TimeSpan IdlePoll(int idleRounds) =>
        _daemonNotifies ? s_notifiedPoll : TimeSpan.FromMilliseconds(Math.Min(1 << Math.Min(idleRounds, 4), s_maxPoll.TotalMilliseconds));

    /// <summary>Tells the daemon the ring changed. Never blocks: a daemon that is not there simply misses it.</summary>
    public unsafe void Kick()
    {
        uint port = _port;
        byte* bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(bytes, 4), port);
        lock (_kickLock)
        {
            if (_closed)
            {
                return;
            }
            if (_kickFd < 0)
            {
                _kickFd = Libc.Open(_eventFifo, Libc.OWrOnly | Libc.ONonBlock | Libc.OCloExec);
                if (_kickFd < 0)
                {
                    return;
                }
            }
            if (Libc.Write(_kickFd, bytes, 4) != 4 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Errno.EAGAIN)
            {
                // The daemon went away (EPIPE) or replaced the FIFO: open it afresh next time.
                Libc.Close(_kickFd);
                _kickFd = -1;
            }
        }
    }

    /// <summary>Waits for <paramref name="signal"/> or <paramref name="poll"/>, whichever comes first.</summary>
    public static async Task WaitAsync(Task signal, TimeSpan poll, CancellationToken cancellationToken)
    {
        if (!signal.IsCompleted)
        {
            await Task.WhenAny(signal, Task.Delay(poll, cancellationToken)).ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Wakes every waiter (also used by the ring itself when it changes state locally).</summary>
    public void Signal() =>
        Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private unsafe void Listen()
    {
        byte* buffer = stackalloc byte[64];
        while (true)
        {
            nint read = Libc.Read(_notifyFd, buffer, 64);
            if (_closed)
            {
                break;
            }
            if (read > 0)
            {
                _daemonNotifies = true;
                Signal();
            }
            else if (read < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Errno.EINTR)
            {
                Thread.Sleep(10);
            }
        }
        lock (_kickLock)
        {
            Libc.Close(_notifyFd);
            _notifyClosed = true;
        }
    }

    public unsafe void Dispose()
    {
        lock (_kickLock)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            if (_kickFd >= 0)
            {
                Libc.Close(_kickFd);
                _kickFd = -1;
            }
            if (!_listening)
            {
                Libc.Close(_notifyFd);
                _notifyClosed = true;
            }
            else if (!_notifyClosed)
            {
                // Wake the listener through its own FIFO; it closes the descriptor on its way out.
                byte* wake = stackalloc byte[4];
                Libc.Write(_notifyFd, wake, 4);
            }
        }
        try
        {
            File.Delete(_notifyFifo);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: the next guest of this domain reuses it.
        }
        Signal();
    }
}
