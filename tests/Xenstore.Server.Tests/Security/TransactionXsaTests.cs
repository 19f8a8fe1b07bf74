using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>Advisories about node creation and transactions: failures half done, accounting that drifts, teardown.</summary>
public sealed class TransactionXsaTests(ITestOutputHelper output)
{
    private static uint Start(SimulatedGuest guest) =>
        uint.Parse(guest.Request(XsMessageType.TransactionStart, "").Text, CultureInfo.InvariantCulture);

    /// <summary>Opens transactions until the quota refuses one, aborts them all, and returns how many opened.</summary>
    private static int OpenUntilRefused(SimulatedGuest guest)
    {
        var opened = new List<uint>();
        while (true)
        {
            RawMessage reply = guest.Request(XsMessageType.TransactionStart, RawPayload.Strings(""));
            if (reply.IsError)
            {
                Assert.Equal("ENOSPC", reply.ErrorName);
                break;
            }
            opened.Add(reply.TransactionId);
            Assert.True(opened.Count <= 1000, "the transaction quota was never reached");
        }
        foreach (uint id in opened)
        {
            Assert.Equal("OK", End(guest, id, commit: false).Text);
        }
        return opened.Count;
    }

    private static RawMessage End(SimulatedGuest guest, uint tx, bool commit) =>
        guest.Request(XsMessageType.TransactionEnd, RawPayload.Strings(commit ? "T" : "F"), tx);

    /// <summary>
    /// XSA-414: undoing a node creation that failed half way (here: the quota runs out on the second of three new
    /// nodes) crashed or corrupted C xenstored.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa414_ACreationFailingHalfWayLeavesNothingBehind(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        await host.TrySetQuotaAsync("nodes", 30);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        QuotaXsaTests.FillNodeQuota(guest, "n");
        Assert.Equal("OK", guest.Request(XsMessageType.Rm, "data/n0").Text);

        RawMessage write = guest.Request(XsMessageType.Write, RawPayload.Write("data/x/y/z", "v"u8));
        output.WriteLine($"{kind}: three new nodes where one is free: {write.Describe()}");
        if (host.IsOurs)
        {
            Assert.Equal("ENOSPC", write.ErrorName);
        }
        // C 4.22 checks the quota once per request, so the request may pass whole; never half.
        bool created = write.IsOk;
        Assert.Equal(created, !(await host.Dom0.ReadAsync("/local/domain/5/data/x")).IsError);
        Assert.Equal(created, !(await host.Dom0.ReadAsync("/local/domain/5/data/x/y")).IsError);
        Assert.Equal(created, !(await host.Dom0.ReadAsync("/local/domain/5/data/x/y/z")).IsError);
        if (!created)
        {
            // The one free node is still free, and no more.
            Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write("data/w", "v"u8)).Text);
        }
        Assert.Equal("ENOSPC", guest.Request(XsMessageType.Write, RawPayload.Write("data/w2", "v"u8)).ErrorName);
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-415: a creation failing half way inside a transaction left nodes without a parent, which the commit then
    /// wrote into the store.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa415_ACreationFailingInsideATransactionCommitsNoOrphan(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        await host.TrySetQuotaAsync("nodes", 30);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        int filled = QuotaXsaTests.FillNodeQuota(guest, "n");
        Assert.Equal("OK", guest.Request(XsMessageType.Rm, "data/n0").Text);
        Assert.Equal("OK", guest.Request(XsMessageType.Rm, "data/n1").Text);

        uint tx = Start(guest);
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write("data/t", "v"u8), tx).Text);
        // Three new nodes where two are free: refused at once (ours, C 4.22) or when the commit counts (C 4.17).
        RawMessage write = guest.Request(XsMessageType.Write, RawPayload.Write("data/x/y/z", "v"u8), tx);
        RawMessage commit = End(guest, tx, commit: true);
        output.WriteLine($"{kind}: the write: {write.Describe()}; the commit: {commit.Describe()}");
        Assert.False(write.IsOk && commit.IsOk, "three nodes were committed where two were free");

        // Whatever failed where, the tree has no orphan and no half-created path, and the quota still adds up.
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data/x")).ErrorName);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data/x/y")).ErrorName);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data/x/y/z")).ErrorName);
        List<string> data = await host.ListSubtreeAsync("/local/domain/5/data");
        int kept = commit.IsOk ? filled - 1 : filled - 2;
        Assert.Equal(kept, data.Count - 1);
        Assert.Equal(filled - kept, QuotaXsaTests.FillNodeQuota(guest, "again"));
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-421: a node created and deleted again in one transaction broke the commit half way, skipping the quota
    /// accounting, so a guest could create any number of nodes.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa421_CreatingAndDeletingInOneTransactionCannotBypassTheQuota(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        int quota = await host.TrySetQuotaAsync("nodes", 40) ? 40 : 1000;
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        int committed = 0;
        for (int round = 0; round < quota + 20; round++)
        {
            uint tx = Start(guest);
            guest.Request(XsMessageType.Write, RawPayload.Write("data/tmp/a", "v"u8), tx);
            guest.Request(XsMessageType.Write, RawPayload.Write("data/tmp/b", "v"u8), tx);
            guest.Request(XsMessageType.Rm, RawPayload.Strings("data/tmp"), tx);
            guest.Request(XsMessageType.Write, RawPayload.Write($"data/keep{round}", "v"u8), tx);
            if (End(guest, tx, commit: true).IsOk)
            {
                committed++;
            }
        }
        int owned = await QuotaXsaTests.CountOwnedAsync(host, 5);
        output.WriteLine($"{kind}: quota {quota}, {committed} commits, guest owns {owned}");
        Assert.InRange(owned, 1, quota);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data/tmp")).ErrorName);
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-440: two transactions removing the same nodes made C xenstored's quota check see a negative count at the
    /// second commit and fail an assertion.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa440_TwoTransactionsRemovingTheSameNodesKeepTheCountRight(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        await host.TrySetQuotaAsync("nodes", 60);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        int capacity = QuotaXsaTests.FillNodeQuota(guest, "n");

        uint first = Start(guest);
        uint second = Start(guest);
        foreach (uint tx in new[] { first, second })
        {
            for (int i = 0; i < capacity; i++)
            {
                Assert.Equal("OK", guest.Request(XsMessageType.Rm, RawPayload.Strings($"data/n{i}"), tx).Text);
            }
        }
        Assert.Equal("OK", End(guest, first, commit: true).Text);
        RawMessage late = End(guest, second, commit: true);
        output.WriteLine($"{kind}: the second commit: {late.Describe()}");
        Assert.True(late.IsOk || late.ErrorName == "EAGAIN", late.Describe());

        Assert.Equal(capacity, QuotaXsaTests.FillNodeQuota(guest, "m"));
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-484: RESET_WATCHES sent inside a transaction (or a connection dropped while a request of a transaction was
    /// under way) tripped an assertion in C xenstored's transaction teardown.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa484_ResetWatchesInsideATransactionEndsEveryTransactionCleanly(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        int capacity = OpenUntilRefused(guest);
        uint tx = Start(guest);
        Start(guest);
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write("data/in-tx", "v"u8), tx).Text);
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "data", "w").Text);

        RawMessage reset = guest.Request(XsMessageType.ResetWatches, RawPayload.Strings(""), tx);
        Assert.Equal("OK", reset.Text);
        Assert.Equal("ENOENT", End(guest, tx, commit: true).ErrorName);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data/in-tx")).ErrorName);
        // The transaction count went back to zero: the whole quota is there again.
        Assert.Equal(capacity, OpenUntilRefused(guest));
        await host.AssertHealthyAsync(guest);
    }
}
