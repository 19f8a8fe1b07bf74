using System.Buffers.Binary;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Bad input over the socket affects only the connection that sent it; pipelined and concurrent clients are
/// answered in order with their own req_ids. Run against the daemon's default socket I/O (io_uring batches) and
/// against its one-call-per-socket fallback.
/// </summary>
public abstract class SocketRobustnessScenarios
{
    protected abstract Task<IDaemonUnderTest> OursAsync();

    [Fact]
    public async Task OversizedPayload_ClosesOnlyThatConnection()
    {
        IDaemonUnderTest daemon = await OursAsync();
        string path = SharedDaemons.UniquePath("big");
        await using RawConnection bystander = await RawConnection.ConnectAsync(daemon.SocketPath);
        Assert.False((await bystander.WriteAsync(path, "kept")).IsError);
        await bystander.WatchAsync(path, "tok");
        await bystander.NextEventAsync();

        await using RawConnection offender = await RawConnection.ConnectAsync(daemon.SocketPath);
        var header = new byte[16];
        new XsHeader(XsMessageType.Write, 1, 0, 5005).Write(header);
        await offender.SendRawAsync(header);
        try
        {
            await offender.SendRawAsync(new byte[5005]);
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode is System.Net.Sockets.SocketError.Shutdown
            or System.Net.Sockets.SocketError.ConnectionReset)
        {
            // The daemon may close on the header alone, before the payload arrives: the write then finds it gone.
        }
        Assert.True(await offender.IsClosedAsync());

        Assert.Equal("kept", (await bystander.ReadAsync(path)).Text);
        await using RawConnection other = await RawConnection.ConnectAsync(daemon.SocketPath);
        Assert.False((await other.WriteAsync(path, "changed")).IsError);
        RawMessage? evt = await bystander.NextEventAsync();
        Assert.NotNull(evt);
        Assert.Equal([path, "tok"], evt!.Strings);
    }

    [Fact]
    public async Task MaximumLengthHeader_ClosesConnection()
    {
        IDaemonUnderTest daemon = await OursAsync();
        await using RawConnection offender = await RawConnection.ConnectAsync(daemon.SocketPath);
        var header = new byte[16];
        new XsHeader(XsMessageType.Read, 1, 0, uint.MaxValue).Write(header);
        await offender.SendRawAsync(header);
        Assert.True(await offender.IsClosedAsync());
    }

    [Fact]
    public async Task ZeroLengthRead_IsAnsweredAtOnceWithEinval()
    {
        IDaemonUnderTest daemon = await OursAsync();
        await using RawConnection client = await RawConnection.ConnectAsync(daemon.SocketPath);
        RawMessage reply = await client.RequestAsync(XsMessageType.Read, Array.Empty<byte>(), timeout: TimeSpan.FromSeconds(5));
        Assert.Equal("EINVAL", reply.ErrorName);
    }

    [Fact]
    public async Task PartialFrames_AreReassembled()
    {
        IDaemonUnderTest daemon = await OursAsync();
        string path = SharedDaemons.UniquePath("split");
        await using RawConnection client = await RawConnection.ConnectAsync(daemon.SocketPath);
        byte[] payload = RawPayload.Write(path, RawPayload.Bytes("split-value"));
        var frame = new byte[16 + payload.Length];
        FrameParser.Write(frame, XsMessageType.Write, 42, 0, payload);
        for (int i = 0; i < frame.Length; i += 3)
        {
            await client.SendRawAsync(frame.AsMemory(i, Math.Min(3, frame.Length - i)));
            await Task.Delay(1);
        }
        RawMessage reply = await client.NextReplyAsync();
        Assert.Equal(42u, reply.ReqId);
        Assert.Equal("OK", reply.Text);
        Assert.Equal("split-value", (await client.ReadAsync(path)).Text);
    }

    [Fact]
    public async Task Pipelined_RepliesComeInOrderWithTheirReqIds()
    {
        IDaemonUnderTest daemon = await OursAsync();
        string path = SharedDaemons.UniquePath("pipe");
        await using RawConnection client = await RawConnection.ConnectAsync(daemon.SocketPath);
        const int count = 2000;
        var batch = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            byte[] payload = RawPayload.Write($"{path}/n{i % 50}", RawPayload.Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var frame = new byte[16 + payload.Length];
            FrameParser.Write(frame, XsMessageType.Write, (uint)(1000 + i), 0, payload);
            batch.AddRange(frame);
        }
        await client.SendRawAsync(batch.ToArray());
        for (int i = 0; i < count; i++)
        {
            RawMessage reply = await client.NextReplyAsync();
            Assert.Equal((uint)(1000 + i), reply.ReqId);
            Assert.Equal(XsMessageType.Write, reply.Type);
        }
        Assert.Equal("1999", (await client.ReadAsync($"{path}/n49")).Text);
    }

    [Fact]
    public async Task HundredsOfConnections_EachGetTheirOwnAnswers()
    {
        IDaemonUnderTest daemon = await OursAsync();
        string path = SharedDaemons.UniquePath("many");
        var clients = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 300; i++)
            {
                clients.Add(await RawConnection.ConnectAsync(daemon.SocketPath));
            }
            await Task.WhenAll(clients.Select((c, i) => c.WriteAsync($"{path}/c{i}", $"v{i}")));
            RawMessage[] reads = await Task.WhenAll(clients.Select((c, i) => c.ReadAsync($"{path}/c{i}")));
            for (int i = 0; i < reads.Length; i++)
            {
                Assert.Equal($"v{i}", reads[i].Text);
            }
            Assert.Equal(300, (await clients[0].DirectoryAsync(path)).Strings.Count);
        }
        finally
        {
            foreach (RawConnection client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ClientThatNeverReads_DoesNotStallOthers()
    {
        IDaemonUnderTest daemon = await OursAsync();
        string path = SharedDaemons.UniquePath("stall");
        using System.Net.Sockets.Socket silent = await UnixSocketConnector.ConnectAsync(daemon.SocketPath);
        // Watch the subtree, then flood requests and never read a byte of the replies or events.
        byte[] watch = Frame(XsMessageType.Watch, 1, RawPayload.Strings(path, "t"));
        await silent.SendAsync(watch);
        byte[] read = Frame(XsMessageType.Directory, 2, RawPayload.Strings("/"));
        var flood = new byte[read.Length * 2000];
        for (int i = 0; i < 2000; i++)
        {
            read.CopyTo(flood, i * read.Length);
        }
        using var sendTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            for (int round = 0; round < 20; round++)
            {
                await silent.SendAsync(flood, System.Net.Sockets.SocketFlags.None, sendTimeout.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The daemon stopped reading the silent client: that is the point.
        }

        // Another client is served throughout: each of its requests is answered (a stalled daemon would leave one
        // without a reply, which RawConnection reports as a timeout).
        await using RawConnection busy = await RawConnection.ConnectAsync(daemon.SocketPath);
        for (int i = 0; i < 500; i++)
        {
            Assert.False((await busy.WriteAsync($"{path}/k{i % 10}", "x")).IsError);
        }
        Assert.Equal("x", (await busy.ReadAsync($"{path}/k9")).Text);
    }

    /// <summary>
    /// A client that pipelines far more replies than the daemon buffers and reads them only later gets every one,
    /// whole and in order: the daemon writes what the socket takes, waits for it to drain, stops executing the
    /// client's requests while its output is over the limit, and goes on where it stopped.
    /// </summary>
    [Fact]
    public async Task SlowReader_GetsEveryReplyInOrder_AfterTheBacklogDrains()
    {
        IDaemonUnderTest daemon = await OursAsync();
        string path = SharedDaemons.UniquePath("slow");
        string value = new('v', 2000);
        await using (RawConnection setup = await RawConnection.ConnectAsync(daemon.SocketPath))
        {
            Assert.False((await setup.WriteAsync(path, value)).IsError);
        }
        const int Requests = 12000;
        using System.Net.Sockets.Socket client = await UnixSocketConnector.ConnectAsync(daemon.SocketPath);
        byte[] payload = RawPayload.Strings(path);
        var requests = new byte[Requests * (16 + payload.Length)];
        for (int i = 0; i < Requests; i++)
        {
            FrameParser.Write(requests.AsSpan(i * (16 + payload.Length)), XsMessageType.Read, (uint)i + 1, 0, payload);
        }
        // About 24 MB of replies: far over the daemon's 1 MiB per-connection limit and the socket buffers.
        Task send = client.SendAsync(requests, System.Net.Sockets.SocketFlags.None);
        await Task.Delay(1000);

        var buffer = new byte[1 << 20];
        int length = 0;
        int next = 1;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (next <= Requests)
        {
            int received = await client.ReceiveAsync(buffer.AsMemory(length), System.Net.Sockets.SocketFlags.None, deadline.Token);
            Assert.True(received > 0, $"the daemon closed the connection after {next - 1} replies");
            length += received;
            int offset = 0;
            while (FrameParser.TryParse(buffer.AsSpan(offset, length - offset), out XsHeader header, out int frame) == FrameStatus.Complete)
            {
                Assert.Equal(XsMessageType.Read, header.Type);
                Assert.Equal((uint)next, header.ReqId);
                Assert.True(buffer.AsSpan(offset + 16, frame - 16).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(value)), $"reply {next} was damaged");
                next++;
                offset += frame;
            }
            buffer.AsSpan(offset, length - offset).CopyTo(buffer);
            length -= offset;
        }
        await send;
    }

    private static byte[] Frame(XsMessageType type, uint reqId, byte[] payload)
    {
        var frame = new byte[16 + payload.Length];
        FrameParser.Write(frame, type, reqId, 0, payload);
        return frame;
    }

    [Fact]
    public async Task ReplyOver4096_IsE2big()
    {
        IDaemonUnderTest daemon = await OursAsync();
        string path = SharedDaemons.UniquePath("wide");
        await using RawConnection client = await RawConnection.ConnectAsync(daemon.SocketPath);
        for (int i = 0; i < 400; i++)
        {
            await client.SendRequestAsync(XsMessageType.Mkdir, RawPayload.Strings($"{path}/child-number-{i:D5}"));
        }
        for (int i = 0; i < 400; i++)
        {
            Assert.False((await client.NextReplyAsync()).IsError);
        }
        Assert.Equal("E2BIG", (await client.DirectoryAsync(path)).ErrorName);
        // DIRECTORY_PART returns the listing in chunks with a stable generation.
        var names = new List<string>();
        string? generation = null;
        int offset = 0;
        while (true)
        {
            RawMessage part = await client.RequestAsync(XsMessageType.DirectoryPart, RawPayload.Strings(path, offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.True(part.Payload.Length <= 4096);
            IReadOnlyList<string> strings = part.Strings;
            generation ??= strings[0];
            Assert.Equal(generation, strings[0]);
            bool end = part.Payload.Length >= 2 && part.Payload[^1] == 0 && part.Payload[^2] == 0;
            List<string> chunk = strings.Skip(1).Where(s => s.Length > 0).ToList();
            names.AddRange(chunk);
            offset += chunk.Sum(n => n.Length + 1);
            if (end)
            {
                break;
            }
        }
        Assert.Equal(400, names.Count);
        Assert.Equal("child-number-00399", names[^1]);
    }
}
