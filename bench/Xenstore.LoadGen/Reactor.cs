using System.Runtime.InteropServices;
using Xenstore.Server.Reactor;

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
        using IoUring? ring = batched ? IoUring.TryCreate(256) : null;
        var ready = new List<IReactorClient>();
        var batch = new Batch(clients.Length);
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
                SendBatch(ring, batch, clients);
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
                        ReceiveBatch(ring, batch, ready);
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
                        SendBatch(ring, batch, ready);
                    }
                }
            }
        }
        finally
        {
            _ = close(epfd);
        }
    }

    /// <summary>Reused buffers of one reactor's batches (at most one entry per connection).</summary>
    private sealed class Batch(int connections)
    {
        public SocketOperation[] Operations { get; } = new SocketOperation[connections];

        public int[] Results { get; } = new int[connections];

        public List<IReactorClient> Sending { get; } = new(connections);
    }

    /// <summary>One receive per ready connection, all together; each connection's next Receive takes them.</summary>
    private static void ReceiveBatch(IoUring ring, Batch batch, List<IReactorClient> ready)
    {
        for (int i = 0; i < ready.Count; i++)
        {
            (byte[] buffer, int offset, int count) = ready[i].Connection.ReceiveTarget();
            batch.Operations[i] = new(IoUring.OpRecv, ready[i].Connection.Fd,
                Marshal.UnsafeAddrOfPinnedArrayElement(buffer, offset), count);
        }
        SocketOperations.Run(ring, batch.Operations.AsSpan(0, ready.Count), batch.Results);
        // A connection that got nothing after all (EAGAIN) has no reply to handle, and a Receive now would block.
        int kept = 0;
        for (int i = 0; i < ready.Count; i++)
        {
            if (ready[i].Connection.Deliver(batch.Results[i]))
            {
                ready[kept++] = ready[i];
            }
        }
        ready.RemoveRange(kept, ready.Count - kept);
    }

    /// <summary>The queued requests of every connection that has any, all together.</summary>
    private static void SendBatch(IoUring ring, Batch batch, IReadOnlyList<IReactorClient> clients)
    {
        List<IReactorClient> sending = batch.Sending;
        sending.Clear();
        foreach (IReactorClient client in clients)
        {
            if (client.Connection.PendingSend > 0)
            {
                (byte[] buffer, int count) = client.Connection.SendTarget();
                batch.Operations[sending.Count] = new(IoUring.OpSend, client.Connection.Fd,
                    Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0), count);
                sending.Add(client);
            }
        }
        SocketOperations.Run(ring, batch.Operations.AsSpan(0, sending.Count), batch.Results);
        for (int i = 0; i < sending.Count; i++)
        {
            sending[i].Connection.Sent(batch.Results[i]);
        }
    }
}
