using System.Collections.Concurrent;
using System.Net.Sockets;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>
/// A server that does nothing: every request gets a reply of its own type with payload <c>OK\0</c>, served from
/// one epoll thread like the C daemon. Running a workload against it (with --no-payload-checks) shows the load
/// generator's own ceiling.
/// </summary>
internal static class NullServer
{
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
        var buffers = new ConcurrentDictionary<int, (byte[] Rx, int Filled)>();
        var tx = new byte[512 * 1024];
        Reactor.Serve(accepted, (socket, id) =>
        {
            (byte[] rx, int filled) = buffers.GetOrAdd(id, _ => (new byte[256 * 1024], 0));
            int n;
            try
            {
                n = socket.Receive(rx.AsSpan(filled));
            }
            catch (SocketException)
            {
                n = 0;
            }
            if (n == 0)
            {
                socket.Dispose();
                buffers.TryRemove(id, out _);
                return;
            }
            filled += n;
            int consumed = 0;
            int txLength = 0;
            while (FrameParser.TryParse(rx.AsSpan(consumed, filled - consumed), out XsHeader header, out int length) == FrameStatus.Complete)
            {
                txLength += FrameParser.Write(tx.AsSpan(txLength), header.Type, header.ReqId, header.TxId, XsConstants.Ok);
                consumed += length;
            }
            rx.AsSpan(consumed, filled - consumed).CopyTo(rx);
            buffers[id] = (rx, filled - consumed);
            int sent = 0;
            while (sent < txLength)
            {
                sent += socket.Send(tx.AsSpan(sent, txLength - sent));
            }
        });
        return Task.CompletedTask;
    }
}
