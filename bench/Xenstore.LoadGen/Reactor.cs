using System.Collections.Concurrent;
using System.Net.Sockets;
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
internal static class Reactor
{
    /// <summary>
    /// Serves sockets handed over by <paramref name="accepted"/> (from any thread) on the calling thread: after each
    /// wait, <paramref name="onReadable"/> gets every socket that is readable, with its id. Never returns.
    /// </summary>
    public static void Serve(BlockingCollection<Socket> accepted, Action<List<(Socket Socket, int Id)>> onReadable)
    {
        var epoll = new Epoll();
        var sockets = new ConcurrentDictionary<int, Socket>();
        var adder = new Thread(() =>
        {
            int next = 0;
            foreach (Socket socket in accepted.GetConsumingEnumerable())
            {
                int id = next++;
                sockets[id] = socket;
                epoll.Add((int)socket.SafeHandle.DangerousGetHandle(), Epoll.In, id);
            }
        }) { IsBackground = true };
        adder.Start();
        var ready = new List<(Socket, int)>();
        Action<long, uint> onEvent = (token, _) =>
        {
            if (token >= 0 && sockets.TryGetValue((int)token, out Socket? socket))
            {
                ready.Add((socket, (int)token));
            }
        };
        while (true)
        {
            ready.Clear();
            epoll.Wait(onEvent, 1000);
            if (ready.Count > 0)
            {
                onReadable(ready);
            }
        }
    }

    /// <summary>
    /// Runs until every client is inactive or <paramref name="stop"/> returns true (checked between waits). With
    /// <paramref name="batched"/> (and io_uring available) the receives of all ready connections go to the kernel
    /// in one submission, and so do the sends that follow: the generator then spends far less per request than
    /// any daemon, as the daemon does with its own batches.
    /// </summary>
    public static void Run(IReactorClient[] clients, Func<bool> stop, bool batched = false)
    {
        using IoUring? ring = batched ? IoUring.TryCreate(256) : null;
        var ready = new List<IReactorClient>();
        var batch = new Batch(clients.Length);
        // One event per connection and one for the epoll's own wake-up descriptor.
        using var epoll = new Epoll(clients.Length + 1);
        for (int i = 0; i < clients.Length; i++)
        {
            epoll.Add(clients[i].Connection.Fd, Epoll.In, i);
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
        Action<long, uint> onEvent = (token, _) =>
        {
            if (token >= 0 && clients[(int)token].Active)
            {
                ready.Add(clients[(int)token]);
            }
        };
        int active = clients.Count(c => c.Active);
        while (active > 0 && !stop())
        {
            ready.Clear();
            epoll.Wait(onEvent, 50);
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
