using System.Runtime.InteropServices;

namespace Xenstore.LoadGen;

/// <summary>A connection driven by <see cref="Reactor"/>: it is told when its socket has bytes to read.</summary>
internal interface IReactorClient
{
    XsConnection Connection { get; }

    /// <summary>False once the client has nothing more in flight and wants no more callbacks.</summary>
    bool Active { get; }

    /// <summary>Sends the first request(s).</summary>
    void Start();

    /// <summary>Bytes are available: receive once, handle every complete reply, send what follows.</summary>
    void OnReadable();
}

/// <summary>
/// Drives many connections from one thread with epoll: one readiness wait serves every connection that has a
/// reply, so one request in flight per connection costs a read and a write, no thread hand-off. This keeps the
/// generator's own ceiling far above what the daemons reach with 64 connections on two cores.
/// </summary>
internal static partial class Reactor
{
    private const int EpollIn = 0x001;
    private const int EpollCtlAdd = 1;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    /// <summary>
    /// Serves sockets handed over by <paramref name="accepted"/> (from any thread) on the calling thread: after each
    /// wait, <paramref name="onReadable"/> gets every socket that is readable, with its id. Never returns.
    /// </summary>
    public static unsafe void Serve(System.Collections.Concurrent.BlockingCollection<System.Net.Sockets.Socket> accepted,
        Action<List<(System.Net.Sockets.Socket Socket, int Id)>> onReadable)
    {
        int epfd = epoll_create1(0);
        var sockets = new System.Collections.Concurrent.ConcurrentDictionary<int, System.Net.Sockets.Socket>();
        var adder = new Thread(() =>
        {
            int next = 0;
            foreach (System.Net.Sockets.Socket socket in accepted.GetConsumingEnumerable())
            {
                int id = next++;
                sockets[id] = socket;
                var ev = new EpollEvent { Events = EpollIn, Data = (ulong)id };
                _ = epoll_ctl(epfd, EpollCtlAdd, (int)socket.SafeHandle.DangerousGetHandle(), &ev);
            }
        }) { IsBackground = true };
        adder.Start();
        var events = new EpollEvent[256];
        var ready = new List<(System.Net.Sockets.Socket, int)>();
        fixed (EpollEvent* buffer = events)
        {
            while (true)
            {
                int n = epoll_wait(epfd, buffer, events.Length, 1000);
                ready.Clear();
                for (int i = 0; i < n; i++)
                {
                    int id = (int)buffer[i].Data;
                    if (sockets.TryGetValue(id, out System.Net.Sockets.Socket? socket))
                    {
                        ready.Add((socket, id));
                    }
                }
                if (ready.Count > 0)
                {
                    onReadable(ready);
                }
            }
        }
    }

    /// <summary>
    /// Runs until every client is inactive or <paramref name="stop"/> returns true (checked between waits). With
    /// <paramref name="batched"/> (and io_uring available) the receives of all ready connections go to the kernel
    /// in one submission, and so do the sends that follow: the generator then spends far less per request than
    /// any daemon, as the daemon does with its own batches.
    /// </summary>
    public static unsafe void Run(IReactorClient[] clients, Func<bool> stop, bool batched = false)
    {
        using Xenstore.Server.Reactor.IoUring? ring = batched ? Xenstore.Server.Reactor.IoUring.TryCreate(256) : null;
        var ready = new List<IReactorClient>();
        int epfd = epoll_create1(0);
        if (epfd < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }
        try
        {
            for (int i = 0; i < clients.Length; i++)
            {
                var ev = new EpollEvent { Events = EpollIn, Data = (ulong)i };
                if (epoll_ctl(epfd, EpollCtlAdd, clients[i].Connection.Fd, &ev) != 0)
                {
                    throw new IOException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}");
                }
            }
            foreach (IReactorClient client in clients)
            {
                client.Connection.SendsBatched = ring is not null;
                client.Start();
            }
            if (ring is not null)
            {
                SendBatch(ring, clients);
            }
            var events = new EpollEvent[clients.Length];
            int active = clients.Count(c => c.Active);
            fixed (EpollEvent* buffer = events)
            {
                while (active > 0 && !stop())
                {
                    int n = epoll_wait(epfd, buffer, events.Length, 50);
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == 4)
                        {
                            continue; // EINTR
                        }
                        throw new IOException($"epoll_wait failed: errno {errno}");
                    }
                    ready.Clear();
                    for (int i = 0; i < n; i++)
                    {
                        IReactorClient client = clients[(int)buffer[i].Data];
                        if (client.Active)
                        {
                            ready.Add(client);
                        }
                    }
                    if (ring is not null)
                    {
                        ReceiveBatch(ring, ready);
                    }
                    foreach (IReactorClient client in ready)
                    {
                        client.OnReadable();
                        if (!client.Active)
                        {
                            active--;
                        }
                    }
                    if (ring is not null)
                    {
                        SendBatch(ring, ready);
                    }
                }
            }
        }
        finally
        {
            _ = close(epfd);
        }
    }

    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;

    /// <summary>One receive per ready connection, all in one submission; each connection's next Receive takes them.</summary>
    private static unsafe void ReceiveBatch(Xenstore.Server.Reactor.IoUring ring, List<IReactorClient> ready)
    {
        for (int i = 0; i < ready.Count; i++)
        {
            (byte[] buffer, int offset, int count) = ready[i].Connection.ReceiveTarget();
            ring.Prepare(Xenstore.Server.Reactor.IoUring.OpRecv, ready[i].Connection.Fd,
                (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(buffer, offset), count, MsgDontWait, (ulong)i);
        }
        if (ready.Count == 0)
        {
            return;
        }
        ring.SubmitAndWait(ready.Count);
        var nothing = new HashSet<IReactorClient>();
        while (ring.TryReap(out ulong index, out int result))
        {
            if (!ready[(int)index].Connection.Deliver(result))
            {
                nothing.Add(ready[(int)index]);
            }
        }
        // Nothing arrived after all (EAGAIN): no reply to handle, and a Receive now would block.
        if (nothing.Count > 0)
        {
            ready.RemoveAll(nothing.Contains);
        }
    }

    /// <summary>The queued requests of every connection that has any, in one submission.</summary>
    private static unsafe void SendBatch(Xenstore.Server.Reactor.IoUring ring, IReadOnlyList<IReactorClient> clients)
    {
        int prepared = 0;
        for (int i = 0; i < clients.Count; i++)
        {
            (byte[] buffer, int count) = clients[i].Connection.SendTarget();
            if (count == 0)
            {
                continue;
            }
            ring.Prepare(Xenstore.Server.Reactor.IoUring.OpSend, clients[i].Connection.Fd,
                (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0), count, MsgDontWait | MsgNoSignal, (ulong)i);
            prepared++;
        }
        if (prepared == 0)
        {
            return;
        }
        ring.SubmitAndWait(prepared);
        while (ring.TryReap(out ulong index, out int result))
        {
            clients[(int)index].Connection.Sent(result);
        }
    }
}
