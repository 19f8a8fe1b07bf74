using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Rings;
using Xenstore.Store;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Fair service across guest rings: a guest with a full ring of requests gets a budget per pass, and another guest
/// notified at the same moment is served in the same pass, not after the first guest's whole backlog. Observed
/// deterministically through the journal: each batch's node count is recorded as it is journalled.
/// </summary>
public sealed class RingFairnessTests : IAsyncDisposable
{
    private const uint Busy = 1;
    private const uint Other = 2;
    private const int BusyWrites = 25;
    private const int OtherDepth = 30;

    private readonly string _directory = Directory.CreateTempSubdirectory("xs-fair-").FullName;

    /// <summary>Records the node count after every batch that changed it.</summary>
    private sealed class CountingJournal(IBatchJournal inner) : IBatchJournal
    {
        private readonly List<long> _counts = [];

        public List<long> Counts
        {
            get
            {
                lock (_counts)
                {
                    return [.. _counts];
                }
            }
        }

        public void Append(XenstoreEngine engine)
        {
            inner.Append(engine);
            lock (_counts)
            {
                long nodes = engine.Statistics.Nodes;
                if (_counts.Count == 0 || _counts[^1] != nodes)
                {
                    _counts.Add(nodes);
                }
            }
        }
    }

    [Fact]
    public async Task AGuestNotifiedWithABusyOne_IsServedInTheSamePass()
    {
        string sim = Path.Combine(_directory, "sim");
        Directory.CreateDirectory(sim);
        CountingJournal journal = null!;
        var options = new ServerOptions { Hypervisor = HypervisorKind.Simulated, SimulationDirectory = sim };
        await using var server = new XenstoreServer(options, NullLoggerFactory.Instance, inner => journal = new CountingJournal(inner));
        using SimulatedGuest busy = SimulatedGuest.Create(sim, Busy);
        using SimulatedGuest other = SimulatedGuest.Create(sim, Other);
        await server.StartAsync();
        await using RawConnection dom0 = RawConnection.Over(server.ConnectInMemory());
        foreach (SimulatedGuest guest in new[] { busy, other })
        {
            string home = $"/local/domain/{guest.Domid}";
            Assert.False((await dom0.WriteAsync(home, "")).IsError);
            Assert.False((await dom0.SetPermsAsync(home, $"n{guest.Domid}")).IsError);
            Assert.False((await dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings($"{guest.Domid}", "0", "1"))).IsError);
            // A first round trip: the ring's session is open and its first look at the ring is done.
            Assert.False(guest.Request(XsMessageType.Read, RawPayload.Strings(home)).IsError);
        }
        long before = await server.QueryAsync(engine => (long)engine.Statistics.Nodes);

        // The busy guest fills its ring with writes of one node each; the other writes one path creating 30 nodes.
        for (int i = 0; i < BusyWrites; i++)
        {
            busy.Enqueue(XsMessageType.Write, RawPayload.Write($"/local/domain/{Busy}/k{i}", RawPayload.Bytes("v")));
        }
        string deep = $"/local/domain/{Other}" + string.Concat(Enumerable.Range(0, OtherDepth).Select(i => $"/d{i}"));
        other.Enqueue(XsMessageType.Write, RawPayload.Write(deep, RawPayload.Bytes("v")));
        SimulatedGuest.NotifyTogether(sim, busy, other);

        for (int i = 0; i < BusyWrites; i++)
        {
            RawMessage reply = busy.TryReceive(RawConnection.DefaultTimeout) ?? throw new TimeoutException("busy guest: no reply");
            Assert.False(reply.IsError, reply.ErrorName);
        }
        Assert.False((other.TryReceive(RawConnection.DefaultTimeout) ?? throw new TimeoutException("other guest: no reply")).IsError);

        List<long> added = journal.Counts.Where(n => n > before).Select(n => n - before).ToList();
        Assert.Equal(BusyWrites + OtherDepth, added[^1]);
        // The first batch already has the other guest's 30 nodes, and only a budget's worth of the busy guest's.
        Assert.True(added[0] >= OtherDepth && added[0] - OtherDepth <= RingManager.RequestsPerPass,
            $"nodes added per batch: {string.Join(", ", added)} (the other guest waited for the busy guest's backlog)");
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
