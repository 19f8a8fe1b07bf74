using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Sockets;
using Xenstore.Store;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// A socket's requests execute in turns of <see cref="SocketConnection.RequestsPerTurn"/> per batch: the rest of a
/// pipelined chunk is held over to the next batch. Another connection's request gets in between two turns, and the
/// held-over input goes on in order however the receives fall around it.
/// </summary>
public sealed class SocketTurnTests
{
    /// <summary>The real journal behind a gate the test can close: the store thread then stops inside a batch.</summary>
    private sealed class GatedJournal(IBatchJournal inner) : IBatchJournal, IDisposable
    {
        private readonly ManualResetEventSlim _open = new(initialState: true);
        private readonly SemaphoreSlim _stopped = new(0);

        public void Close() => _open.Reset();

        public void Open() => _open.Set();

        /// <summary>Completes once the store thread waits at the closed gate.</summary>
        public Task WaitStoppedAsync() => _stopped.WaitAsync(RawConnection.DefaultTimeout);

        public void Append(XenstoreEngine engine)
        {
            if (!_open.IsSet)
            {
                _stopped.Release();
                _open.Wait();
            }
            inner.Append(engine);
        }

        public void Dispose()
        {
            _open.Dispose();
            _stopped.Dispose();
        }
    }

    private sealed class GatedServer : IAsyncDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("xs-turns-").FullName;

        public GatedServer()
        {
            var options = new ServerOptions
            {
                SocketPath = Path.Combine(_directory, "socket"),
                StateDirectory = Path.Combine(_directory, "state"),
            };
            Server = new XenstoreServer(options, NullLoggerFactory.Instance, inner => Journal = new GatedJournal(inner));
        }

        public XenstoreServer Server { get; }

        public GatedJournal Journal { get; private set; } = null!;

        public Task<RawConnection> ConnectAsync() => RawConnection.ConnectAsync(Server.SocketPath!);

        public async ValueTask DisposeAsync()
        {
            Journal.Open();
            await Server.DisposeAsync();
            Journal.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>Requests as one buffer, sent with a single write: the daemon finds them all in one receive.</summary>
    private static byte[] Frames(IEnumerable<(XsMessageType Type, byte[] Payload)> requests)
    {
        var bytes = new List<byte>();
        uint reqId = 1000;
        foreach ((XsMessageType type, byte[] payload) in requests)
        {
            var frame = new byte[XsConstants.HeaderSize + payload.Length];
            FrameParser.Write(frame, type, reqId++, 0, payload);
            bytes.AddRange(frame);
        }
        return bytes.ToArray();
    }

    [Fact]
    public async Task AnotherConnectionsRequest_RunsBetweenTwoTurnsOfAPipelinedChunk()
    {
        const int Writes = 200;
        await using var gated = new GatedServer();
        await gated.Server.StartAsync();
        await using RawConnection pipelining = await gated.ConnectAsync();
        await using RawConnection other = await gated.ConnectAsync();
        Assert.False((await pipelining.WriteAsync("/turns/n", "0")).IsError);
        await other.SyncAsync();

        // Stop the store thread inside a batch, so both clients' input is waiting when the next one starts. The
        // pipelining client's request stops it: a socket just read is first in line at the next wait (epoll reports
        // a level-triggered descriptor again before those that became ready since), so without turns its whole
        // chunk would run before the other connection's READ.
        gated.Journal.Close();
        await pipelining.SendRequestAsync(XsMessageType.Read, RawPayload.Strings("/"));
        await gated.Journal.WaitStoppedAsync();
        await pipelining.SendRawAsync(Frames(Enumerable.Range(1, Writes).Select(i =>
            (XsMessageType.Write, RawPayload.Write("/turns/n", RawPayload.Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)))))));
        await other.SendRequestAsync(XsMessageType.Read, RawPayload.Strings("/turns/n"));
        gated.Journal.Open();

        RawMessage seen = await other.NextReplyAsync();
        Assert.False(seen.IsError, seen.ErrorName);
        int executedBefore = int.Parse(Encoding.ASCII.GetString(seen.Payload), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(executedBefore <= SocketConnection.RequestsPerTurn,
            $"the other connection's READ ran after {executedBefore} of the {Writes} pipelined writes (a turn is {SocketConnection.RequestsPerTurn})");

        Assert.False((await pipelining.NextReplyAsync()).IsError);
        for (int i = 1; i <= Writes; i++)
        {
            RawMessage reply = await pipelining.NextReplyAsync();
            Assert.False(reply.IsError, reply.ErrorName);
            Assert.Equal(999u + (uint)i, reply.Header.ReqId);
        }
        Assert.Equal("200", Encoding.ASCII.GetString((await pipelining.ReadAsync("/turns/n")).Payload));
    }

    [Fact]
    public async Task ChunkLargerThanManyTurnsAndReceives_ExecutesInOrder()
    {
        // Each WRITE is followed by a READ of the same key: a request executed twice, skipped or out of order shows
        // as a wrong value or request id. ~100 KB: more than the input buffer holds, so receives come between turns.
        const int Pairs = 3000;
        await using var gated = new GatedServer();
        await gated.Server.StartAsync();
        await using RawConnection client = await gated.ConnectAsync();
        byte[] chunk = Frames(Enumerable.Range(0, Pairs).SelectMany(i =>
        {
            string path = $"/turns/k{i % 50}";
            return new[]
            {
                (XsMessageType.Write, RawPayload.Write(path, RawPayload.Bytes($"v{i}"))),
                (XsMessageType.Read, RawPayload.Strings(path)),
            };
        }));
        Task sending = client.SendRawAsync(chunk);
        for (int i = 0; i < Pairs; i++)
        {
            RawMessage written = await client.NextReplyAsync();
            Assert.False(written.IsError, written.ErrorName);
            Assert.Equal(1000u + (2u * (uint)i), written.Header.ReqId);
            RawMessage read = await client.NextReplyAsync();
            Assert.Equal(1001u + (2u * (uint)i), read.Header.ReqId);
            Assert.Equal($"v{i}", Encoding.ASCII.GetString(read.Payload));
        }
        await sending;
    }
}
