using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Tests.Transactions;

public sealed class TransactionManagerTests
{
    private static readonly XsPermission[] s_perms = [new(XsAccess.None, 0)];

    private readonly DomainTable _domains = new(new QuotaSet(), XsServerFeatures.Error);
    private readonly LiveTree _live = new();
    private readonly TransactionManager _transactions;
    private readonly Connection _guest = new(2, 5, false);

    public TransactionManagerTests()
    {
        _transactions = new TransactionManager(_domains, _live);
        _live.Nodes.AddChild(_live.Nodes.GetMutable("/"), "a", [], s_perms);
    }

    private Transaction Start(Connection connection)
    {
        Assert.Equal(XsError.None, _transactions.TryStart(connection, out Transaction? transaction));
        return transaction!;
    }

    [Fact]
    public void TryStart_ChargesTheDomain_WithinItsTransactionQuota()
    {
        _domains.GlobalQuotas[Quota.Transactions] = 2;
        Start(_guest);
        Start(_guest);
        Assert.Equal(XsError.ENOSPC, _transactions.TryStart(_guest, out _));
        Assert.Equal(2, _transactions.Count);
        Assert.Equal(2, _domains.Usage(5, Accounted.Transactions));
    }

    [Fact]
    public void TryStart_PrivilegedConnectionsHaveNoQuota()
    {
        _domains.GlobalQuotas[Quota.Transactions] = 1;
        var dom0 = new Connection(1, 0, true);
        Start(dom0);
        Transaction second = Start(dom0);
        Assert.Equal(0, second.NodeLimit);
    }

    [Fact]
    public void Abort_ReleasesTheTransactionAndCountsIt()
    {
        Transaction transaction = Start(_guest);
        Assert.Equal(XsError.None, _transactions.End(transaction, commit: false));
        Assert.Equal(0, _transactions.Count);
        Assert.Equal(1, _transactions.Aborted);
        Assert.False(_domains.Contains(5));
        Assert.Empty(_guest.Transactions);
    }

    [Fact]
    public void Commit_ConflictsWhenANodeItReadChanged()
    {
        Transaction transaction = Start(_guest);
        Assert.Equal(XsError.None, transaction.TryRecord("/a", transaction.Tree.Get("/a")));
        _live.Nodes.GetMutable("/a").Generation = 99;
        Assert.Equal(XsError.EAGAIN, _transactions.End(transaction, commit: true));
        Assert.Equal(1, _transactions.Conflicted);
    }

    [Fact]
    public void Commit_ConflictsWhenANodeItSawMissingAppeared()
    {
        Transaction transaction = Start(_guest);
        transaction.TryRecord("/b", null);
        _live.Nodes.AddChild(_live.Nodes.GetMutable("/"), "b", [], s_perms);
        Assert.Equal(XsError.EAGAIN, _transactions.End(transaction, commit: true));
    }

    [Fact]
    public void Commit_AChildListChangeConflictsOnlyWhenTheTransactionListedIt()
    {
        Transaction read = Start(_guest);
        Transaction listed = Start(_guest);
        read.TryRecord("/a", read.Tree.Get("/a"));
        listed.TryRecordListing("/a", listed.Tree.Get("/a")!);
        Node a = _live.Nodes.GetMutable("/a");
        _live.Nodes.AddChild(a, "child", [], s_perms);
        a.ChildrenGeneration = 42;

        Assert.Equal(XsError.None, _transactions.End(read, commit: true));
        Assert.Equal(XsError.EAGAIN, _transactions.End(listed, commit: true));
        Assert.Equal(1, _transactions.Committed);
    }

    [Fact]
    public void Commit_ChecksTheNodeQuotaAgain()
    {
        _domains.GlobalQuotas[Quota.Nodes] = 3;
        _domains.Charge(5, Accounted.Nodes, 2);
        Transaction transaction = Start(_guest);
        transaction.AddDelta(5, 2);
        Assert.Equal(XsError.ENOSPC, _transactions.End(transaction, commit: true));
        Assert.Equal(1, _transactions.Aborted);
    }

    [Fact]
    public void TryRecord_RefusesPastTheNodeLimit_AndRecordsNothingThen()
    {
        _domains.GlobalQuotas[Quota.TransactionNodes] = 2;
        Transaction transaction = Start(_guest);
        Assert.Equal(XsError.None, transaction.TryRecord("/a", null));
        Assert.Equal(XsError.None, transaction.TryRecord("/b", null));
        Assert.Equal(XsError.None, transaction.TryRecord("/a", null));
        Assert.Equal(XsError.ENOSPC, transaction.TryRecord("/c", null));
        Assert.Equal(XsError.ENOSPC, transaction.TryRecordListing("/d", _live.Root));
        Assert.Equal(2, transaction.Accessed.Count);
    }

    [Fact]
    public void DropAll_ClosesEveryTransactionOfTheConnection_AndUnfreezesTheLiveTree()
    {
        Start(_guest);
        Start(_guest);
        Assert.NotEqual(0, _live.Nodes.FrozenUpTo);
        _transactions.DropAll(_guest);
        Assert.Equal(0, _transactions.Count);
        Assert.Equal(0, _live.Nodes.FrozenUpTo);
    }
}
