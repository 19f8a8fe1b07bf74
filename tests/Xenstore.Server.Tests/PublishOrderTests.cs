using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Store;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Journal before reply, for every transport: a client that sees a reply must find the change it acknowledges
/// already journalled. The journal here is slowed down on purpose, so a transport that let a reply out before its
/// batch was journalled (as guest rings once did) would be caught in the act, not only in a rare crash.
/// </summary>
public sealed class PublishOrderTests
{
    private const int Writes = 40;

    /// <summary>Wraps the real journal: slow to append, and remembers how many nodes existed at the last append.</summary>
    private sealed class SlowObservedJournal(IBatchJournal inner) : IBatchJournal
    {
        private long _journalledNodes;

        public long JournalledNodes => Volatile.Read(ref _journalledNodes);

        public void Append(XenstoreEngine engine)
        {
            Thread.Sleep(3);
            inner.Append(engine);
            Volatile.Write(ref _journalledNodes, engine.Statistics.Nodes);
        }
    }

    private sealed class ObservedServer : IAsyncDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("xs-order-").FullName;

        public ObservedServer(bool withSocket)
        {
            SimulationDirectory = Path.Combine(_directory, "sim");
            var options = new ServerOptions
            {
                SocketPath = withSocket ? Path.Combine(_directory, "socket") : null,
                StateDirectory = Path.Combine(_directory, "state"),
                Hypervisor = HypervisorKind.Simulated,
                SimulationDirectory = SimulationDirectory,
            };
            Server = new XenstoreServer(options, NullLoggerFactory.Instance, inner => Journal = new SlowObservedJournal(inner));
        }

        public XenstoreServer Server { get; }

        public SlowObservedJournal Journal { get; private set; } = null!;

        public string SimulationDirectory { get; }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static Task<long> NodeCountAsync(XenstoreServer server) => server.QueryAsync(engine => (long)engine.Statistics.Nodes);

    /// <summary>Each write creates one node; its reply may only be seen once that node is journalled.</summary>
    private static async Task AssertEveryReplyJournalledAsync(ObservedServer observed, Func<string, Task<RawMessage>> write)
    {
        long before = await NodeCountAsync(observed.Server);
        for (int i = 1; i <= Writes; i++)
        {
            RawMessage reply = await write($"/order/k{i}");
            long journalled = observed.Journal.JournalledNodes;
            Assert.False(reply.IsError, reply.ErrorName);
            Assert.True(journalled >= before + i, $"the reply to write {i} was visible before its change was journalled ({journalled} < {before + i} nodes)");
        }
    }

    [Fact]
    public async Task InMemoryConnection_ReplyIsVisibleOnlyAfterItsBatchIsJournalled()
    {
        await using var observed = new ObservedServer(withSocket: false);
        await observed.Server.StartAsync();
        await using RawConnection client = RawConnection.Over(observed.Server.ConnectInMemory());
        await client.WriteAsync("/order", "");
        await AssertEveryReplyJournalledAsync(observed, path => client.WriteAsync(path, "v"));
    }

    [Fact]
    public async Task Socket_ReplyIsVisibleOnlyAfterItsBatchIsJournalled()
    {
        await using var observed = new ObservedServer(withSocket: true);
        await observed.Server.StartAsync();
        await using RawConnection client = await RawConnection.ConnectAsync(observed.Server.SocketPath!);
        await client.WriteAsync("/order", "");
        await AssertEveryReplyJournalledAsync(observed, path => client.WriteAsync(path, "v"));
    }

    [Fact]
    public async Task GuestRing_ReplyIsVisibleOnlyAfterItsBatchIsJournalled()
    {
        await using var observed = new ObservedServer(withSocket: false);
        Directory.CreateDirectory(observed.SimulationDirectory);
        using SimulatedGuest guest = SimulatedGuest.Create(observed.SimulationDirectory, 5);
        await observed.Server.StartAsync();
        await using RawConnection dom0 = RawConnection.Over(observed.Server.ConnectInMemory());
        Assert.False((await dom0.WriteAsync("/order", "")).IsError);
        Assert.False((await dom0.SetPermsAsync("/order", "n5")).IsError);
        Assert.False((await dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings("5", "0", "7"))).IsError);
        // The guest spins on its page, as a guest kernel polling its ring would: it sees a reply the moment it is there.
        await AssertEveryReplyJournalledAsync(observed, path => Task.Run(() =>
            guest.Request(XsMessageType.Write, RawPayload.Write(path, RawPayload.Bytes("v")))));
    }
}
