using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Robustness.Tests;

/// <summary>
/// One guest domain exhausts its node, watch and transaction quotas (ENOSPC) over its ring; dom0 and another
/// guest keep working, and the greedy guest can still read and overwrite what it has.
/// </summary>
public sealed class QuotaExhaustionTests(ITestOutputHelper output)
{
    private const uint Greedy = 5;
    private const uint Neighbour = 7;

    [Fact]
    public async Task OneGuestExhaustingItsQuotas_LeavesOthersWorking()
    {
        string rings = Directory.CreateTempSubdirectory("xs-sim-").FullName;
        await using OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", rings);
        await using RawConnection dom0 = await RawConnection.ConnectAsync(daemon);
        using SimulatedGuest greedy = await IntroduceAsync(dom0, rings, Greedy);
        using SimulatedGuest neighbour = await IntroduceAsync(dom0, rings, Neighbour);
        await using var memory = new DaemonMemory(daemon.ProcessId);

        (int nodes, string nodeError) = await Task.Run(() => Exhaust(i => greedy.Request(XsMessageType.Write, RawPayload.Write($"data/n{i}", "v"u8)), 5000));
        (int watches, string watchError) = await Task.Run(() => Exhaust(i => greedy.Request(XsMessageType.Watch, $"data/n{i}", "t"), 2000));
        (int transactions, string transactionError) = await Task.Run(() => Exhaust(_ => greedy.Request(XsMessageType.TransactionStart, ""), 500));
        output.WriteLine($"greedy guest: {nodes} nodes then {nodeError}, {watches} watches then {watchError}, {transactions} transactions then {transactionError}");
        Assert.Equal("ENOSPC", nodeError);
        Assert.Equal("ENOSPC", watchError);
        Assert.Equal("ENOSPC", transactionError);

        // The greedy guest keeps what it has.
        Assert.Equal("v", greedy.Request(XsMessageType.Read, "data/n0").Text);
        Assert.Equal("OK", greedy.Request(XsMessageType.Write, RawPayload.Write("data/n0", "again"u8)).Text);
        Assert.Equal("ENOSPC", greedy.Request(XsMessageType.Write, RawPayload.Write("data/one-more", "v"u8)).ErrorName);

        // dom0 is not limited by a guest's quota and is answered promptly.
        var latency = new Latency();
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal("OK", (await latency.MeasureAsync(() => dom0.WriteAsync($"/local/domain/{Greedy}/data/dom0-{i}", "x"))).Text);
        }
        output.WriteLine(latency.Describe("dom0"));

        // The neighbour has its own quotas.
        await Task.Run(() =>
        {
            for (int i = 0; i < 50; i++)
            {
                Assert.Equal("OK", neighbour.Request(XsMessageType.Write, RawPayload.Write($"data/n{i}", "v"u8)).Text);
            }
            Assert.Equal("OK", neighbour.Request(XsMessageType.Watch, "data", "mine").Text);
            uint tx = uint.Parse(neighbour.Request(XsMessageType.TransactionStart, "").Text, CultureInfo.InvariantCulture);
            Assert.Equal("OK", neighbour.Request(XsMessageType.Write, RawPayload.Write("data/in-tx", "v"u8), tx).Text);
            Assert.Equal("OK", neighbour.Request(XsMessageType.TransactionEnd, RawPayload.Strings("T"), tx).Text);
            Assert.Equal("v", neighbour.Request(XsMessageType.Read, "data/in-tx").Text);
        });
        Assert.Equal("OK", (await dom0.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
        output.WriteLine(memory.Describe("quota exhaustion"));
    }

    /// <summary>Repeats a request until it fails; returns how many succeeded and the error.</summary>
    private static (int Succeeded, string Error) Exhaust(Func<int, RawMessage> request, int limit)
    {
        for (int i = 0; i < limit; i++)
        {
            RawMessage reply = request(i);
            if (reply.IsError)
            {
                return (i, reply.ErrorName!);
            }
        }
        return (limit, "no error after " + limit);
    }

    /// <summary>What a toolstack does: a readable home, a guest-owned data directory, INTRODUCE.</summary>
    private static async Task<SimulatedGuest> IntroduceAsync(RawConnection dom0, string rings, uint domid)
    {
        SimulatedGuest guest = SimulatedGuest.Create(rings, domid);
        string home = $"/local/domain/{domid}";
        Assert.False((await dom0.WriteAsync(home + "/name", $"guest{domid}")).IsError);
        Assert.False((await dom0.SetPermsAsync(home, "n0", $"r{domid}")).IsError);
        Assert.False((await dom0.MkdirAsync(home + "/data")).IsError);
        Assert.False((await dom0.SetPermsAsync(home + "/data", $"n{domid}")).IsError);
        RawMessage introduced = await dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture), "0", "7"));
        Assert.Equal("OK", introduced.Text);
        return guest;
    }
}
