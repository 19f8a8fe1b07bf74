using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>
/// A server that does nothing: every request gets a reply of its own type with payload <c>OK\0</c>, served from
/// one epoll thread, the receives of all ready sockets in one io_uring submission and their replies in another
/// (as our daemon does; plain calls where io_uring is unavailable). Running a workload against it (with
/// --no-payload-checks) shows the load generator's own ceiling. For the big-directory workload it answers the least
/// any server must (<see cref="BigDirectoryFloor"/>): DIRECTORY of its node with E2BIG, DIRECTORY_PART with a part of a listing
/// kept ready as bytes, so that those rows have a floor too.
/// </summary>
internal static class NullServer
{
    /// <summary>One accepted client: pinned buffers, for the kernel to fill and read.</summary>
    private sealed class Client(Socket socket)
    {
        public Socket Socket { get; } = socket;

        public int Fd { get; } = (int)socket.SafeHandle.DangerousGetHandle();

        public byte[] Rx { get; } = PinnedBuffer.Allocate(256 * 1024);

        public int Filled { get; set; }

        public byte[] Tx { get; } = PinnedBuffer.Allocate(512 * 1024);

        public int TxLength { get; set; }

        public int Result { get; set; }
    }

    public static Task RunAsync(string path)
    {
        File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(512);
        using var accepted = new BlockingCollection<Socket>();
        var acceptor = new Thread(() =>
        {
            while (true)
            {
                accepted.Add(listener.Accept());
            }
        }) { IsBackground = true };
        acceptor.Start();
        Console.WriteLine($"xs-loadgen: null server listening on {path}");
        var clients = new Dictionary<int, Client>();
        using IoUring? ring = IoUring.TryCreate(256);
        var batch = new List<Client>();
        Reactor.Serve(accepted, ready =>
        {
            batch.Clear();
            foreach ((Socket socket, int id) in ready)
            {
                if (!clients.TryGetValue(id, out Client? client))
                {
                    clients[id] = client = new Client(socket);
                }
                batch.Add(client);
            }
            Run(ring, batch, IoUring.OpRecv);
            foreach (Client client in batch)
            {
                if (client.Result <= 0)
                {
                    if (client.Result != -11)
                    {
                        client.Socket.Dispose();
                        clients.Remove(clients.First(pair => pair.Value == client).Key);
                    }
                    client.TxLength = 0;
                    continue;
                }
                client.Filled += client.Result;
                Answer(client);
            }
            batch.RemoveAll(c => c.TxLength == 0);
            Run(ring, batch, IoUring.OpSend);
            foreach (Client client in batch)
            {
                // A partial send (the client's socket buffer is full): the rest, blocking.
                int sent = Math.Max(0, client.Result);
                while (sent < client.TxLength)
                {
                    sent += client.Socket.Send(client.Tx.AsSpan(sent, client.TxLength - sent));
                }
            }
        });
        return Task.CompletedTask;
    }

    /// <summary>Replies to every complete request in the client's input; keeps a partial one for later.</summary>
    private static void Answer(Client client)
    {
        int consumed = 0;
        int txLength = 0;
        while (FrameParser.TryParse(client.Rx.AsSpan(consumed, client.Filled - consumed), out XsHeader header, out int length)
            == FrameStatus.Complete)
        {
            ReadOnlySpan<byte> payload = client.Rx.AsSpan(consumed + XsConstants.HeaderSize, (int)header.Length);
            txLength += header.Type switch
            {
                XsMessageType.Write => s_bigDirectory.Written(client.Tx.AsSpan(txLength), header, payload),
                XsMessageType.Directory => BigDirectoryFloor.Directory(client.Tx.AsSpan(txLength), header, payload),
                XsMessageType.DirectoryPart => s_bigDirectory.Part(client.Tx.AsSpan(txLength), header, payload),
                _ => FrameParser.Write(client.Tx.AsSpan(txLength), header.Type, header.ReqId, header.TxId, XsConstants.Ok),
            };
            consumed += length;
        }
        client.Rx.AsSpan(consumed, client.Filled - consumed).CopyTo(client.Rx);
        client.Filled -= consumed;
        client.TxLength = txLength;
    }

    private static readonly BigDirectoryFloor s_bigDirectory = new();

    // Reused by every batch (the reactor reports at most 256 sockets per wait); one server thread uses them.
    private static readonly SocketOperation[] s_operations = new SocketOperation[256];
    private static readonly int[] s_results = new int[256];

    /// <summary>One receive (into the free end of Rx) or one send (of Tx) per client, together.</summary>
    private static void Run(IoUring? ring, List<Client> batch, byte opcode)
    {
        Span<SocketOperation> operations = s_operations.AsSpan(0, batch.Count);
        Span<int> results = s_results.AsSpan(0, batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            Client client = batch[i];
            operations[i] = opcode == IoUring.OpRecv
                ? new SocketOperation(opcode, client.Fd, Marshal.UnsafeAddrOfPinnedArrayElement(client.Rx, client.Filled),
                    client.Rx.Length - client.Filled)
                : new SocketOperation(opcode, client.Fd, Marshal.UnsafeAddrOfPinnedArrayElement(client.Tx, 0), client.TxLength);
        }
        SocketOperations.Run(ring, operations, results);
        for (int i = 0; i < batch.Count; i++)
        {
            batch[i].Result = results[i];
        }
    }
}
