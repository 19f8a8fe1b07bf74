using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>Advisories about a guest's share of the daemon: quotas, memory, replies it never reads.</summary>
public sealed class QuotaXsaTests(ITestOutputHelper output)
{
    /// <summary>Writes <c>data/PREFIXi</c> until the node quota answers ENOSPC; returns how many were created.</summary>
    internal static int FillNodeQuota(SimulatedGuest guest, string prefix)
    {
        for (int i = 0; i < 5000; i++)
        {
            RawMessage reply = guest.Request(XsMessageType.Write, RawPayload.Write($"data/{prefix}{i}", "v"u8));
            if (reply.IsError)
            {
                Assert.Equal("ENOSPC", reply.ErrorName);
                return i;
            }
        }
        Assert.Fail("the node quota was never reached");
        return 0;
    }

    /// <summary>Nodes in the tree owned by <paramref name="domid"/>, counted by dom0.</summary>
    internal static async Task<int> CountOwnedAsync(XsaHost host, uint domid)
    {
        int owned = 0;
        foreach (string node in await host.ListSubtreeAsync("/"))
        {
            string owner = (await host.Dom0.GetPermsAsync(node)).Strings[0];
            if (owner[1..] == domid.ToString(CultureInfo.InvariantCulture))
            {
                owned++;
            }
        }
        return owned;
    }

    /// <summary>XSA-272: oxenstored never counted the nodes a guest created, so a guest could create any number.</summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa272_EveryNodeAGuestCreatesCountsAgainstItsQuota(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        int quota = await host.TrySetQuotaAsync("nodes", 60) ? 60 : 1000;
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        // Each write creates three nodes (two parents on the way); single nodes then fill what is left.
        for (int i = 0; i < quota; i++)
        {
            RawMessage reply = guest.Request(XsMessageType.Write, RawPayload.Write($"data/a{i}/b/c", "v"u8));
            if (reply.IsError)
            {
                Assert.Equal("ENOSPC", reply.ErrorName);
                break;
            }
        }
        FillNodeQuota(guest, "single");
        int owned = await CountOwnedAsync(host, 5);
        output.WriteLine($"{kind}: quota {quota}, guest owns {owned}");
        // The count includes the data directory the toolstack gave the guest; C 4.17 lets one more through.
        Assert.InRange(owned, quota - 1, quota + 1);
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-326, replies: a guest that sends requests and never reads the replies made the daemon buffer them all.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa326_AGuestNeverReadingRepliesIsNoLongerRead(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest flooder = await host.CreateDomainAsync(5);
        using SimulatedGuest bystander = await host.CreateDomainAsync(6);
        long baseline = host.OurProcessId is int pid ? ProcessMemory.RssKiB(pid) : 0;
        (uint sent, uint consumed) = await flooder.FloodWithoutReadingAsync(XsMessageType.Read, "name\0"u8.ToArray());
        output.WriteLine($"{kind}: {sent} requests written, {consumed} taken by the daemon");
        Assert.InRange(consumed, 1u, 2000u);
        await host.AssertHealthyAsync(bystander);
        if (host.OurProcessId is int ours)
        {
            Assert.True(ProcessMemory.RssKiB(ours) - baseline < 32 * 1024, "RSS grew by 32 MiB or more");
        }
        // Once it reads, every request is answered in order.
        for (uint reqId = 1; reqId <= sent; reqId++)
        {
            RawMessage? reply = flooder.TryReceive(RawConnection.DefaultTimeout);
            Assert.NotNull(reply);
            Assert.Equal(reqId, reply.ReqId);
        }
    }

    /// <summary>
    /// XSA-416: the temporary memory of a request (a large directory listing) was freed only once the guest read the
    /// reply; a guest not reading kept all of it alive.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa416_LargeRepliesAGuestNeverReadsCostABoundedAmount(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest flooder = await host.CreateDomainAsync(5);
        using SimulatedGuest bystander = await host.CreateDomainAsync(6);
        for (int i = 0; i < 19; i++)
        {
            await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync($"/local/domain/5/data/big/{i:D2}{new string('d', 198)}", "v"));
        }
        long baseline = host.OurProcessId is int pid ? ProcessMemory.RssKiB(pid) : 0;
        (uint _, uint consumed) = await flooder.FloodWithoutReadingAsync(XsMessageType.Directory, "data/big\0"u8.ToArray());
        output.WriteLine($"{kind}: {consumed} listings of ~3.9 KB taken by the daemon");
        Assert.InRange(consumed, 1u, 2000u);
        await host.AssertHealthyAsync(bystander);
        if (host.OurProcessId is int ours)
        {
            Assert.True(ProcessMemory.RssKiB(ours) - baseline < 32 * 1024, "RSS grew by 32 MiB or more");
        }
    }

    /// <summary>
    /// XSA-326, transactions: a guest accessing more and more nodes in one transaction made the daemon keep a copy
    /// of each (C caps the nodes one transaction may access).
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa326_OneTransactionAccessesABoundedNumberOfNodes(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        uint tx = uint.Parse(guest.Request(XsMessageType.TransactionStart, "").Text, CultureInfo.InvariantCulture);
        int accessed = 0;
        string error = "";
        for (; accessed < 3000; accessed++)
        {
            RawMessage reply = guest.Request(XsMessageType.Read, RawPayload.Strings($"data/missing{accessed}"), tx);
            if (reply.ErrorName is not "ENOENT")
            {
                error = reply.ErrorName ?? reply.Text;
                break;
            }
        }
        output.WriteLine($"{kind}: {accessed} nodes accessed, then {error}");
        Assert.Equal("ENOSPC", error);
        Assert.InRange(accessed, 1000, 1030);
        guest.Request(XsMessageType.TransactionEnd, RawPayload.Strings("F"), tx);
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-326, watch events: a guest with many watches on a busy subtree that never reads them made the daemon
    /// queue every event.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa326_WatchEventsAGuestNeverReadsAreBounded(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest watcher = await host.CreateDomainAsync(5);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal("OK", watcher.Request(XsMessageType.Watch, "data", "t" + i.ToString(CultureInfo.InvariantCulture)).Text);
        }
        while (watcher.PendingEvents.Count < 100 && watcher.NextEvent(TimeSpan.FromSeconds(1)) is not null)
        {
        }
        long baseline = host.OurProcessId is int pid ? ProcessMemory.RssKiB(pid) : 0;
        // 2,000 writes by the toolstack: 200,000 events for the guest, none read while they are made.
        for (int i = 0; i < 2000; i++)
        {
            await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync($"/local/domain/5/data/n{i % 50}", i.ToString(CultureInfo.InvariantCulture)));
        }
        long grown = host.OurProcessId is int ours ? ProcessMemory.RssKiB(ours) - baseline : 0;
        int delivered = 0;
        while (watcher.NextEvent(TimeSpan.FromMilliseconds(500)) is not null)
        {
            delivered++;
        }
        output.WriteLine($"{kind}: {delivered} of 200,000 events delivered; our RSS grew by {grown / 1024} MiB");
        Assert.True(grown < 48 * 1024, $"RSS grew by {grown / 1024} MiB");
        if (host.IsOurs)
        {
            // The watch-events quota (1,024 queued per connection) plus what the ring and the output limit hold.
            Assert.InRange(delivered, 1, 4000);
        }
        await host.AssertHealthyAsync(watcher);
    }

    /// <summary>
    /// XSA-326, watch events: a guest that does not read while one node keeps changing would be queued one
    /// identical event per change. An event identical to one still queued is not queued again (events of the special
    /// <c>@</c> nodes excepted): the guest reads the node after the one it gets. What reaches it is what its ring held
    /// plus one event, not one per write.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa326_AnEventIdenticalToOneStillQueuedIsNotQueuedAgain(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest watcher = await host.CreateDomainAsync(5);
        Assert.Equal("OK", watcher.Request(XsMessageType.Watch, "data/x", "t").Text);
        Assert.NotNull(watcher.NextEvent(TimeSpan.FromSeconds(5)));
        // 1,000 changes of one node, none read while they are made: each would be the event "data/x", token "t".
        for (int i = 0; i < 1000; i++)
        {
            await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/local/domain/5/data/x", i.ToString(CultureInfo.InvariantCulture)));
        }
        int delivered = 0;
        while (watcher.NextEvent(TimeSpan.FromMilliseconds(500)) is { } e)
        {
            Assert.Equal("data/x", e.Strings[0]);
            delivered++;
        }
        output.WriteLine($"{kind}: {delivered} events for 1,000 writes");
        // A 1 KiB ring holds about 70 such events; without the rule the queue would hold up to its limit (1,024).
        Assert.InRange(delivered, 1, 200);
        await host.AssertHealthyAsync(watcher);
    }

    /// <summary>
    /// XSA-326, nodes: a guest creating as many nodes of the maximum size as its quota allows, in every transaction
    /// it may open at once, made the daemon hold all of them (C 4.22 caps a domain's memory at 2.5 MB and then stops
    /// reading its requests).
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa326_MaximumSizeNodesInEveryOpenTransactionCostABoundedAmount(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        using SimulatedGuest bystander = await host.CreateDomainAsync(6);
        long baseline = host.OurProcessId is int pid ? ProcessMemory.RssKiB(pid) : 0;
        // Values as large as every daemon's node-size quota lets through with a 200-byte path.
        byte[] value = new byte[1800];
        Array.Fill(value, (byte)'m');
        string prefix = "data/" + new string('p', 100);
        var transactions = new List<uint>();
        int written = 0;
        string stop = "";
        try
        {
            for (int t = 0; t < 20 && stop.Length == 0; t++)
            {
                RawMessage start = guest.Request(XsMessageType.TransactionStart, RawPayload.Strings(""), timeout: TimeSpan.FromSeconds(3));
                if (start.IsError)
                {
                    break;
                }
                uint tx = start.TransactionId;
                transactions.Add(tx);
                for (int i = 0; i < 2000; i++)
                {
                    RawMessage reply = guest.Request(XsMessageType.Write, RawPayload.Write($"{prefix}/t{t}/{i:D4}{new string('n', 80)}", value), tx, TimeSpan.FromSeconds(3));
                    if (reply.IsError)
                    {
                        stop = i == 0 ? reply.ErrorName! : "";
                        break;
                    }
                    written++;
                }
            }
        }
        catch (TimeoutException)
        {
            stop = "stalled";
        }
        long grown = host.OurProcessId is int ours ? ProcessMemory.RssKiB(ours) - baseline : 0;
        output.WriteLine($"{kind}: {transactions.Count} transactions, {written} nodes of 1,800 bytes written in them ({stop}); our RSS grew by {grown / 1024} MiB");
        await host.AssertHealthyAsync(bystander);
        // Ours refuses (ENOSPC) once a guest's open transactions hold 2 MiB; C 4.22 stops reading the guest at 2.5 MB.
        Assert.InRange(written, 1, 1500);
        Assert.True(grown < 24 * 1024, $"RSS grew by {grown / 1024} MiB");
    }

    /// <summary>
    /// XSA-330: oxenstored's RESET_WATCHES left the watches in a second index, so setting and resetting watches in a
    /// loop leaked memory (and the reset watches still counted).
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa330_ResetWatchesRemovesEveryWatch_RoundAfterRound(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        long baseline = host.OurProcessId is int pid ? ProcessMemory.RssKiB(pid) : 0;
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < 100; i++)
            {
                RawMessage reply = guest.Request(XsMessageType.Watch, $"data/w{i}", "r" + round.ToString(CultureInfo.InvariantCulture));
                Assert.True(reply.IsOk, $"round {round}, watch {i}: {reply.Describe()}");
            }
            Assert.Equal("OK", guest.Request(XsMessageType.ResetWatches, RawPayload.Strings("")).Text);
        }
        while (guest.NextEvent(TimeSpan.FromMilliseconds(200)) is not null)
        {
        }
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/local/domain/5/data/w1", "after"));
        Assert.Equal("guest5", guest.Request(XsMessageType.Read, "name").Text);
        Assert.Empty(guest.PendingEvents);
        if (host.OurProcessId is int ours)
        {
            Assert.True(ProcessMemory.RssKiB(ours) - baseline < 16 * 1024, "RSS grew by 16 MiB or more");
        }
        await host.AssertHealthyAsync(guest);
    }
}
