using System.Net.Sockets;
using System.Text;
using Xenstore.Native;
using Xenstore.Server.Reactor;

namespace Xenstore.Server.Tests;

/// <summary>
/// The store thread's batched socket I/O, through io_uring and through plain system calls: every result reaches the
/// connection it belongs to, errors arrive as errno values, and a closed connection's operations are dropped.
/// </summary>
public sealed class SocketIoBatchTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xs-iobatch-").FullName;
    private readonly List<Socket> _sockets = [];
    private int _listeners;

    public static TheoryData<bool> Modes => new() { true, false };

    [Fact]
    public void IoUring_IsUsedWhereTheKernelAllowsIt()
    {
        using var batch = new SocketIoBatch(useIoUring: true, (_, e) => throw e);
        string? disabled = File.Exists("/proc/sys/kernel/io_uring_disabled")
            ? File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim()
            : null;
        if (disabled == "0")
        {
            Assert.True(batch.UsesIoUring);
        }
        using var off = new SocketIoBatch(useIoUring: false, (_, e) => throw e);
        Assert.False(off.UsesIoUring);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void ManySockets_EachGetsItsOwnBytes_BeyondOneSubmission(bool useIoUring)
    {
        // More sockets than the ring has entries: the batch goes to the kernel in several submissions.
        const int count = 300;
        (Socket client, Socket server)[] pairs = Enumerable.Range(0, count).Select(_ => Pair()).ToArray();
        for (int i = 0; i < count; i++)
        {
            pairs[i].client.Send(Encoding.ASCII.GetBytes("request-" + i));
        }
        using var batch = new SocketIoBatch(useIoUring, (_, e) => throw e);
        var targets = new Target[count];
        var buffers = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            targets[i] = new Target();
            buffers[i] = PinnedBuffer.Allocate(64);
            // Received at an offset: the bytes must land where they were asked to.
            batch.Receive(targets[i], Descriptor(pairs[i].server), buffers[i], 5, 59);
        }
        batch.Complete();
        for (int i = 0; i < count; i++)
        {
            string expected = "request-" + i;
            Assert.Equal([expected.Length], targets[i].Received);
            Assert.Equal(expected, Encoding.ASCII.GetString(buffers[i], 5, expected.Length));
        }

        for (int i = 0; i < count; i++)
        {
            byte[] reply = PinnedBuffer.Allocate(32);
            int length = Encoding.ASCII.GetBytes("reply-" + i, reply.AsSpan(3));
            batch.Send(targets[i], Descriptor(pairs[i].server), reply, 3, length);
        }
        batch.Complete();
        var incoming = new byte[64];
        for (int i = 0; i < count; i++)
        {
            string expected = "reply-" + i;
            Assert.Equal([expected.Length], targets[i].Sent);
            int read = pairs[i].client.Receive(incoming);
            Assert.Equal(expected, Encoding.ASCII.GetString(incoming, 0, read));
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Errors_ArriveAsNegatedErrno(bool useIoUring)
    {
        (Socket _, Socket quietServer) = Pair();
        (Socket goneClient, Socket goneServer) = Pair();
        (Socket readyClient, Socket readyServer) = Pair();
        goneClient.Dispose();
        readyClient.Send("x"u8.ToArray());
        using var batch = new SocketIoBatch(useIoUring, (_, e) => throw e);
        var quiet = new Target();
        var gone = new Target();
        var ready = new Target();
        batch.Receive(quiet, Descriptor(quietServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Receive(gone, Descriptor(goneServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Receive(ready, Descriptor(readyServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Complete();
        Assert.Equal([-Errno.EAGAIN], quiet.Received);
        Assert.Equal([0], gone.Received);
        Assert.Equal([1], ready.Received);

        batch.Send(gone, Descriptor(goneServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Send(ready, Descriptor(readyServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Complete();
        Assert.Contains(gone.Sent.Single(), new[] { -Errno.EPIPE, -Errno.ECONNRESET });
        Assert.Equal([16], ready.Sent);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void ClosedConnection_IsNeitherServedNorReported(bool useIoUring)
    {
        (Socket client, Socket server) = Pair();
        client.Send("kept"u8.ToArray());
        using var batch = new SocketIoBatch(useIoUring, (_, e) => throw e);
        var closed = new Target { IsOpen = false };
        var open = new Target();
        (Socket otherClient, Socket otherServer) = Pair();
        otherClient.Send("other"u8.ToArray());
        batch.Receive(closed, Descriptor(server), PinnedBuffer.Allocate(16), 0, 16);
        batch.Receive(open, Descriptor(otherServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Complete();
        Assert.Empty(closed.Received);
        Assert.Equal([5], open.Received);
        // The dropped receive took nothing from the socket.
        var incoming = new byte[16];
        Assert.Equal(4, server.Receive(incoming));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void FailingReport_GoesToTheFailureHandler_AndTheOthersStillArrive(bool useIoUring)
    {
        var failures = new List<ISocketIoTarget>();
        using var batch = new SocketIoBatch(useIoUring, (target, _) => failures.Add(target));
        (Socket firstClient, Socket firstServer) = Pair();
        (Socket secondClient, Socket secondServer) = Pair();
        firstClient.Send("a"u8.ToArray());
        secondClient.Send("b"u8.ToArray());
        var throwing = new Target { Throws = true };
        var second = new Target();
        batch.Receive(throwing, Descriptor(firstServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Receive(second, Descriptor(secondServer), PinnedBuffer.Allocate(16), 0, 16);
        batch.Complete();
        Assert.Equal([throwing], failures);
        Assert.Equal([1], second.Received);
    }

    private (Socket Client, Socket Server) Pair()
    {
        string path = Path.Combine(_directory, "l" + _listeners++);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        Socket server = listener.Accept();
        _sockets.Add(client);
        _sockets.Add(server);
        return (client, server);
    }

    private static int Descriptor(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class Target : ISocketIoTarget
    {
        public bool IsOpen { get; set; } = true;

        public bool Throws { get; init; }

        public List<int> Received { get; } = [];

        public List<int> Sent { get; } = [];

        public void ReceiveCompleted(int result)
        {
            Received.Add(result);
            if (Throws)
            {
                throw new InvalidOperationException("report failed");
            }
        }

        public void SendCompleted(int result) => Sent.Add(result);
    }
}
