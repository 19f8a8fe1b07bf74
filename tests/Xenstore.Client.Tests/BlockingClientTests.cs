using System.Net.Sockets;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

/// <summary>
/// <see cref="XenstoreBlockingClient"/>: the same operations as the asynchronous client, each complete before it
/// returns, against every daemon kind; over the socket and the xenbus device; and its handling of what a daemon may
/// send besides the awaited reply (scripted daemons).
/// </summary>
public sealed class BlockingClientTests(DaemonPool pool)
{
    private async Task<XenstoreBlockingClient> ConnectAsync(string kind) =>
        XenstoreBlockingClient.Connect((await pool.GetAsync(kind)).SocketPath);

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task Operations_RoundTrip_AndCompleteBeforeReturning(string kind)
    {
        using XenstoreBlockingClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("blocking");
        byte[] value = [0, 1, 0xff, (byte)'\n'];

        Task write = client.WriteAsync(root + "/leaf", value);
        Assert.True(write.IsCompletedSuccessfully);
        Task<byte[]> read = client.ReadAsync(root + "/leaf");
        Assert.True(read.IsCompletedSuccessfully);
        Assert.Equal(value, await read);

        Task<byte[]> missing = client.ReadAsync(root + "/missing");
        Assert.True(missing.IsFaulted);
        Assert.IsType<XenstoreNotFoundException>(missing.Exception!.InnerException);
        Assert.False(await client.ExistsAsync(root + "/missing"));

        await client.MkdirAsync(root + "/dir");
        Assert.Equal(["dir", "leaf"], (await client.ListAsync(root)).Order());
        await client.SetPermissionsAsync(root + "/dir", [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, 7)]);
        Assert.Equal([new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, 7)],
            await client.GetPermissionsAsync(root + "/dir"));
        await client.RemoveAsync(root);
        Assert.False(await client.ExistsAsync(root));

        // A path no daemon accepts is refused before anything is sent.
        Task<byte[]> invalid = client.ReadAsync("/bad//path");
        Assert.True(invalid.IsFaulted);
        Assert.True(((XenstoreErrorException)invalid.Exception!.InnerException!).IsLocal);
        Assert.True(client.IsConnected);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task Transaction_Commits_Aborts_AndReportsAConflict(string kind)
    {
        using XenstoreBlockingClient client = await ConnectAsync(kind);
        await using XenstoreClient other = await XenstoreClient.ConnectAsync((await pool.GetAsync(kind)).SocketPath);
        string root = TestPaths.Unique("blocking-tx");

        XenstoreTransaction tx = client.BeginTransaction();
        Assert.NotEqual(0u, tx.TransactionId);
        await tx.WriteAsync(root + "/a", "1");
        Assert.False(await client.ExistsAsync(root + "/a"));
        Assert.True(await tx.CommitAsync());
        Assert.Equal("1", await client.ReadStringAsync(root + "/a"));

        tx = client.BeginTransaction();
        await tx.WriteAsync(root + "/b", "2");
        await tx.AbortAsync();
        Assert.False(await other.ExistsAsync(root + "/b"));

        // Another connection changes what the transaction read: the commit is refused (EAGAIN), nothing applied.
        tx = client.BeginTransaction();
        Assert.Equal("1", await tx.ReadStringAsync(root + "/a"));
        await tx.WriteAsync(root + "/c", "3");
        await other.WriteAsync(root + "/a", "changed");
        Assert.False(await tx.CommitAsync());
        Assert.False(await other.ExistsAsync(root + "/c"));
    }

    [Fact]
    public async Task RawRequest_ReturnsErrorsAsReplies()
    {
        using XenstoreBlockingClient client = await ConnectAsync("ours");
        (XsMessageType type, byte[] payload) = client.Request(XsMessageType.Read, Encoding.ASCII.GetBytes(TestPaths.Unique("raw") + "\0"));
        Assert.Equal(XsMessageType.Error, type);
        Assert.Equal("ENOENT\0", Encoding.ASCII.GetString(payload));
        Assert.Equal(1, client.Statistics.RequestsSent);
    }

    [Fact]
    public async Task Device_CarriesRequestsAndTransactions()
    {
        IDaemonUnderTest daemon = await pool.GetAsync("ours");
        using PtyXenbusDevice device = PtyXenbusDevice.Start(daemon.SocketPath);
        using XenstoreBlockingClient client = XenstoreBlockingClient.Connect(
            new XenstoreClientOptions { Path = device.DevicePath, PathIsDevice = true, RequestTimeout = TimeSpan.FromSeconds(30) });
        Assert.Equal(device.DevicePath, client.Path);
        string root = TestPaths.Unique("blocking-device");
        await client.WriteAsync(root + "/a", "1");
        XenstoreTransaction tx = client.BeginTransaction();
        await tx.WriteAsync(root + "/b", "2");
        Assert.True(await tx.CommitAsync());
        Assert.Equal(["a", "b"], (await client.ListAsync(root)).Order());
        Assert.Equal("/local/domain/0", Encoding.ASCII.GetString(client.Request(XsMessageType.GetDomainPath, "0\0"u8).Payload).TrimEnd('\0'));
    }

    [Fact]
    public void Connect_ReportsWhyItCannot()
    {
        string directory = Directory.CreateTempSubdirectory("xs-blocking-").FullName;
        try
        {
            XenstoreConnectionException missing = Assert.Throws<XenstoreConnectionException>(
                () => XenstoreBlockingClient.Connect(Path.Combine(directory, "none")));
            Assert.IsType<FileNotFoundException>(missing.InnerException);

            // A socket file nobody listens on: connect() is refused, with errno's text.
            string stale = Path.Combine(directory, "stale");
            using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            bound.Bind(new UnixDomainSocketEndPoint(stale));
            XenstoreConnectionException refused = Assert.Throws<XenstoreConnectionException>(() => XenstoreBlockingClient.Connect(stale));
            Assert.Equal("Connection refused", Assert.IsType<IOException>(refused.InnerException).Message);

            Assert.Throws<NotSupportedException>(() => XenstoreBlockingClient.Connect(
                new XenstoreClientOptions { SimulatedRingDirectory = directory, Domid = 1 }));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task OnlyTheAwaitedReply_IsTaken_WhateverElseArrives()
    {
        await using var daemon = new ScriptedDaemon(async (socket, request) =>
        {
            // A watch event, a reply to some other id, then the reply, cut in two writes mid-header.
            byte[] reply = Frame(XsMessageType.Read, request.ReqId, "value"u8);
            await socket.SendAsync(Frame(XsMessageType.WatchEvent, 0, "/p\0tok\0"u8));
            await socket.SendAsync(Frame(XsMessageType.Read, request.ReqId + 1000, "stale"u8));
            await socket.SendAsync(reply.AsMemory(0, 7));
            await socket.SendAsync(reply.AsMemory(7));
        });
        using XenstoreBlockingClient client = XenstoreBlockingClient.Connect(daemon.SocketPath);
        Assert.Equal("value", await client.ReadStringAsync("/p"));
        Assert.Equal(1, client.Statistics.LateReplies);
        Assert.Equal(1, client.Statistics.UnknownWatchEvents);
        Assert.Equal("value", await client.ReadStringAsync("/p"));
    }

    [Fact]
    public async Task Timeout_ClosesTheConnection()
    {
        await using var daemon = new ScriptedDaemon((_, _) => Task.CompletedTask);
        using XenstoreBlockingClient client = XenstoreBlockingClient.Connect(
            new XenstoreClientOptions { Path = daemon.SocketPath, RequestTimeout = TimeSpan.FromMilliseconds(50) });
        Task<byte[]> read = client.ReadAsync("/p");
        Assert.True(read.IsFaulted);
        Assert.True(Assert.IsType<XenstoreTimeoutException>(read.Exception!.InnerException).WasSent);
        Assert.False(client.IsConnected);
        await Assert.ThrowsAsync<XenstoreConnectionException>(() => client.ReadAsync("/p"));
    }

    [Fact]
    public async Task DaemonGone_FailsTheRequest_OutcomeUnknown()
    {
        await using var daemon = new ScriptedDaemon((socket, _) =>
        {
            socket.Shutdown(SocketShutdown.Both);
            return Task.CompletedTask;
        });
        using XenstoreBlockingClient client = XenstoreBlockingClient.Connect(daemon.SocketPath);
        XenstoreConnectionException e = await Assert.ThrowsAsync<XenstoreConnectionException>(() => client.WriteAsync("/p", "v"));
        Assert.True(e.OutcomeUnknown);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Disposed_RefusesRequests()
    {
        XenstoreBlockingClient client = await ConnectAsync("ours");
        client.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ReadAsync("/tool"));
    }

    private static byte[] Frame(XsMessageType type, uint reqId, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(frame, type, reqId, 0, payload);
        return frame;
    }

    /// <summary>A daemon stand-in on a Unix socket: one connection, each request answered by a script.</summary>
    private sealed class ScriptedDaemon : IAsyncDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("xs-scripted-").FullName;
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        public ScriptedDaemon(Func<Socket, XsHeader, Task> answer)
        {
            SocketPath = Path.Combine(_directory, "socket");
            _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
            _listener.Listen(1);
            _serving = ServeAsync(answer);
        }

        public string SocketPath { get; }

        private async Task ServeAsync(Func<Socket, XsHeader, Task> answer)
        {
            using Socket socket = await _listener.AcceptAsync(_stop.Token);
            byte[] buffer = new byte[XsConstants.HeaderSize + XsConstants.PayloadMax];
            int filled = 0;
            while (true)
            {
                int read = await socket.ReceiveAsync(buffer.AsMemory(filled), _stop.Token);
                if (read == 0)
                {
                    return;
                }
                filled += read;
                while (FrameParser.TryParse(buffer.AsSpan(0, filled), out XsHeader header, out int length) == FrameStatus.Complete)
                {
                    Buffer.BlockCopy(buffer, length, buffer, 0, filled - length);
                    filled -= length;
                    await answer(socket, header);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _serving;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
            _listener.Dispose();
            _stop.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
