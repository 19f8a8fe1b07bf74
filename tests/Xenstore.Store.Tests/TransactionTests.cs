using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>Transaction protocol, snapshot isolation and commit validation (reference §5, DESIGN "Behaviour model").</summary>
public sealed class TransactionTests
{
    private readonly EngineHarness _h = new();
    private readonly TestConnection _b;

    public TransactionTests()
    {
        _b = _h.Connect(0, privileged: true);
        Dom0.Write("/cf/a", "1").Ok();
    }

    /// <summary>The concurrent, non-transactional writer ("A" in the reference's table).</summary>
    private TestConnection Dom0 => _h.Dom0;

    [Fact]
    public void Ids_StartAtOnePerConnection_AndIncrease()
    {
        Assert.Equal(1u, _b.Start());
        Assert.Equal(2u, _b.Start());
        Assert.Equal(1u, Dom0.Start());
        TestConnection c = _h.Connect(0, privileged: true);
        Assert.Equal(1u, c.Start());
    }

    [Fact]
    public void Start_PayloadIgnored_ReplyIsDecimalId()
    {
        _b.Raw(XsMessageType.TransactionStart, "whatever\0"u8.ToArray()).Is("1\0");
        _b.Raw(XsMessageType.TransactionStart, []).Is("2\0");
    }

    [Fact]
    public void Start_InsideTransaction_Ebusy()
    {
        uint tx = _b.Start();
        _b.RequestIn(tx, XsMessageType.TransactionStart, "").Fails("EBUSY");
        _b.RequestIn(99, XsMessageType.TransactionStart, "").Fails("EBUSY");
    }

    [Fact]
    public void UnknownOrEndedTransaction_Enoent()
    {
        _b.Read("/cf/a", 99).Fails("ENOENT");
        _b.Write("/cf/a", "x", 99).Fails("ENOENT");
        _b.Commit(99).Fails("ENOENT");
        _b.Request(XsMessageType.TransactionEnd, "T").Fails("ENOENT");
        uint tx = _b.Start();
        _b.Commit(tx).Ok();
        _b.Read("/cf/a", tx).Fails("ENOENT");
        _b.Commit(tx).Fails("ENOENT");
        uint aborted = _b.Start();
        _b.Abort(aborted).Ok();
        _b.Abort(aborted).Fails("ENOENT");
        // Another connection's transaction id is unknown here.
        uint others = Dom0.Start();
        TestConnection c = _h.Connect(0, privileged: true);
        c.Read("/cf/a", others + 5).Fails("ENOENT");
    }

    [Fact]
    public void End_MalformedArgument_EinvalAndTransactionStaysOpen()
    {
        uint tx = _b.Start();
        _b.Write("/cf/b", "x", tx).Ok();
        _b.RequestIn(tx, XsMessageType.TransactionEnd, "X").Fails("EINVAL");
        _b.Raw(XsMessageType.TransactionEnd, "T"u8.ToArray(), tx).Fails("EINVAL");
        _b.Raw(XsMessageType.TransactionEnd, "T\0\0"u8.ToArray(), tx).Fails("EINVAL");
        _b.Read("/cf/b", tx).Is("x");
        _b.Commit(tx).Ok();
        Dom0.Read("/cf/b").Is("x");
    }

    [Fact]
    public void WatchAndUnwatch_IgnoreTheTransactionId()
    {
        uint tx = _b.Start();
        _b.RequestIn(tx, XsMessageType.Watch, "/cf", "t").Ok();
        _b.RequestIn(777, XsMessageType.Unwatch, "/cf", "t").Ok();
    }

    [Fact]
    public void Transaction_SeesOwnWrites_OthersDoNotUntilCommit()
    {
        uint tx = _b.Start();
        _b.Write("/cf/a", "2", tx).Ok();
        _b.Write("/cf/new/deep", "n", tx).Ok();
        _b.Read("/cf/a", tx).Is("2");
        _b.Directory("/cf", tx).Is("a\0new\0");
        Dom0.Read("/cf/a").Is("1");
        Dom0.Read("/cf/new").Fails("ENOENT");
        _b.Read("/cf/a").Is("1");
        _b.Commit(tx).Ok();
        Dom0.Read("/cf/a").Is("2");
        Dom0.Read("/cf/new/deep").Is("n");
        _h.AssertConsistent();
    }

    [Fact]
    public void Abort_DiscardsEverything()
    {
        int nodes = _h.Engine.Statistics.Nodes;
        uint tx = _b.Start();
        _b.Write("/cf/a", "2", tx).Ok();
        _b.Write("/cf/x/y", "2", tx).Ok();
        _b.Rm("/cf/a", tx).Ok();
        _b.Abort(tx).Ok();
        Dom0.Read("/cf/a").Is("1");
        Dom0.Read("/cf/x").Fails("ENOENT");
        Assert.Equal(nodes, _h.Engine.Statistics.Nodes);
        _h.AssertConsistent();
    }

    [Fact]
    public void SnapshotIsolation_LaterChangesAreInvisible()
    {
        Dom0.Write("/cf/gone", "g").Ok();
        uint tx = _b.Start();
        Dom0.Write("/cf/a", "2").Ok();
        Dom0.Write("/cf/new", "n").Ok();
        Dom0.Rm("/cf/gone").Ok();
        Dom0.SetPerms("/cf", "r0").Ok();
        _b.Read("/cf/a", tx).Is("1");
        _b.Read("/cf/new", tx).Fails("ENOENT");
        _b.Read("/cf/gone", tx).Is("g");
        _b.Directory("/cf", tx).Is("a\0gone\0");
        _b.GetPerms("/cf", tx).Is("n0\0");
        _b.Abort(tx).Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void SnapshotIsolation_TwoTransactionsDoNotSeeEachOther()
    {
        uint t1 = _b.Start();
        uint t2 = Dom0.Start();
        _b.Write("/cf/a", "b", t1).Ok();
        Dom0.Write("/cf/a", "d", t2).Ok();
        _b.Read("/cf/a", t1).Is("b");
        Dom0.Read("/cf/a", t2).Is("d");
        _b.Commit(t1).Ok();
        Dom0.Read("/cf/a", t2).Is("d");
        Dom0.Commit(t2).Fails("EAGAIN");
        Dom0.Read("/cf/a").Is("b");
        _h.AssertConsistent();
    }

    // --- §5.2 scenarios: T on connection B, A a concurrent plain request. ---

    [Fact]
    public void ReadThenWrite_ConcurrentWriteOfTheReadNode_Eagain()
    {
        uint tx = _b.Start();
        _b.Read("/cf/a", tx).Is("1");
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/cf/a", "2").Ok();
        _b.Commit(tx).Fails("EAGAIN");
        Dom0.Read("/cf/b").Fails("ENOENT");
        _h.AssertConsistent();
    }

    [Fact]
    public void DisjointWrites_Ok()
    {
        uint tx = _b.Start();
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/cf/c", "y").Ok();
        _b.Commit(tx).Ok();
        Dom0.Read("/cf/b").Is("x");
        Dom0.Read("/cf/c").Is("y");
        _h.AssertConsistent();
    }

    [Fact]
    public void BlindWriteOfExistingNode_VersusConcurrentWrite_EagainAndConcurrentValueKept()
    {
        uint tx = _b.Start();
        _b.Write("/cf/a", "tx", tx).Ok();
        Dom0.Write("/cf/a", "A").Ok();
        _b.Commit(tx).Fails("EAGAIN");
        Dom0.Read("/cf/a").Is("A");
    }

    [Fact]
    public void BlindCreate_VersusConcurrentCreateOfTheSameNode_Eagain()
    {
        uint tx = _b.Start();
        _b.Write("/cf/b", "tx", tx).Ok();
        Dom0.Write("/cf/b", "A").Ok();
        _b.Commit(tx).Fails("EAGAIN");
        Dom0.Read("/cf/b").Is("A");
    }

    [Fact]
    public void ReadOnlyTransaction_ConcurrentWriteOfTheReadNode_Eagain()
    {
        uint tx = _b.Start();
        _b.Read("/cf/a", tx).Is("1");
        Dom0.Write("/cf/a", "2").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void ConcurrentSameValueRewrite_Eagain()
    {
        uint tx = _b.Start();
        _b.Read("/cf/a", tx).Is("1");
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/cf/a", "1").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void ConcurrentUnrelatedWrite_Ok()
    {
        uint tx = _b.Start();
        _b.Read("/cf/a", tx).Is("1");
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/q", "q").Ok();
        _b.Commit(tx).Ok();
    }

    [Fact]
    public void ListedDirectory_ConcurrentNewChild_Eagain()
    {
        uint tx = _b.Start();
        _b.Directory("/cf", tx).Is("a\0");
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/cf/new", "n").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void ListedDirectory_ConcurrentRemovedChild_Eagain()
    {
        uint tx = _b.Start();
        _b.Directory("/cf", tx).Is("a\0");
        Dom0.Rm("/cf/a").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void ListedDirectoryPart_ConcurrentNewChild_Eagain()
    {
        uint tx = _b.Start();
        _b.DirectoryPart("/cf", 0, tx).Success();
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/cf/new", "n").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void ListedDirectory_ConcurrentChangeBelowAChild_Ok()
    {
        uint tx = _b.Start();
        _b.Directory("/cf", tx).Is("a\0");
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/cf/a", "2").Ok();
        Dom0.Write("/cf/a/sub", "2").Ok();
        _b.Commit(tx).Ok();
    }

    [Fact]
    public void ReadOfMissingNode_ConcurrentCreate_Eagain()
    {
        uint tx = _b.Start();
        _b.Read("/cf/zz", tx).Fails("ENOENT");
        _b.Write("/cf/b", "x", tx).Ok();
        Dom0.Write("/cf/zz", "z").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void ReadOfMissingNodeUnderMissingParent_ConcurrentCreate_Eagain()
    {
        uint tx = _b.Start();
        _b.Read("/cf/m/zz", tx).Fails("ENOENT");
        Dom0.Write("/cf/m/zz", "z").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void GetPerms_ConcurrentSetPerms_Eagain()
    {
        uint tx = _b.Start();
        _b.GetPerms("/cf/a", tx).Is("n0\0");
        Dom0.SetPerms("/cf/a", "r0").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void WrittenNode_ConcurrentRemove_Eagain()
    {
        uint tx = _b.Start();
        _b.Write("/cf/a", "x", tx).Ok();
        Dom0.Rm("/cf/a").Ok();
        _b.Commit(tx).Fails("EAGAIN");
        Dom0.Read("/cf/a").Fails("ENOENT");
    }

    [Fact]
    public void RemovedSubtree_ConcurrentWriteInsideIt_Eagain()
    {
        Dom0.Write("/cf/a/c", "c").Ok();
        uint tx = _b.Start();
        _b.Rm("/cf/a", tx).Ok();
        Dom0.Write("/cf/a/c", "changed").Ok();
        _b.Commit(tx).Fails("EAGAIN");
        Dom0.Read("/cf/a/c").Is("changed");
    }

    [Fact]
    public void CreateUnderParent_ConcurrentWriteOfTheParentItself_Eagain()
    {
        uint tx = _b.Start();
        _b.Write("/cf/x", "x", tx).Ok();
        Dom0.Write("/cf", "value").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void CreateUnderParent_ConcurrentSetPermsOfTheParent_Eagain()
    {
        uint tx = _b.Start();
        _b.Write("/cf/x", "x", tx).Ok();
        Dom0.SetPerms("/cf", "r0").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void CreateUnderParent_ConcurrentRemoveOfTheParent_Eagain()
    {
        uint tx = _b.Start();
        _b.Write("/cf/x", "x", tx).Ok();
        Dom0.Rm("/cf").Ok();
        _b.Commit(tx).Fails("EAGAIN");
        Dom0.Read("/cf").Fails("ENOENT");
        _h.AssertConsistent();
    }

    // --- The child-list merge: different children of one parent, nobody listed it. ---

    [Fact]
    public void Merge_CreateDifferentChildren_BothApplied()
    {
        uint tx = _b.Start();
        _b.Write("/cf/x", "tx", tx).Ok();
        Dom0.Write("/cf/y", "A").Ok();
        _b.Commit(tx).Ok();
        Dom0.Directory("/cf").Is("a\0y\0x\0");
        Dom0.Read("/cf/x").Is("tx");
        Dom0.Read("/cf/y").Is("A");
        _h.AssertConsistent();
    }

    [Fact]
    public void Merge_CreateVersusConcurrentRemoveOfSibling_Ok()
    {
        uint tx = _b.Start();
        _b.Write("/cf/x", "tx", tx).Ok();
        Dom0.Rm("/cf/a").Ok();
        _b.Commit(tx).Ok();
        Dom0.Directory("/cf").Is("x\0");
        _h.AssertConsistent();
    }

    [Fact]
    public void Merge_RemoveVersusConcurrentCreateOfSibling_Ok()
    {
        uint tx = _b.Start();
        _b.Rm("/cf/a", tx).Ok();
        Dom0.Write("/cf/y", "A").Ok();
        _b.Commit(tx).Ok();
        Dom0.Directory("/cf").Is("y\0");
        _h.AssertConsistent();
    }

    [Fact]
    public void Merge_TwoTransactionsCreateDifferentChildren_BothCommit()
    {
        uint t1 = _b.Start();
        uint t2 = Dom0.Start();
        _b.Write("/cf/d1/name", "one", t1).Ok();
        Dom0.Write("/cf/d2/name", "two", t2).Ok();
        _b.Commit(t1).Ok();
        Dom0.Commit(t2).Ok();
        Dom0.Directory("/cf").Is("a\0d1\0d2\0");
        _h.AssertConsistent();
    }

    [Fact]
    public void NoMerge_TwoTransactionsCreateTheSameChild_SecondEagain()
    {
        uint t1 = _b.Start();
        uint t2 = Dom0.Start();
        _b.Write("/cf/same", "one", t1).Ok();
        Dom0.Write("/cf/same", "two", t2).Ok();
        _b.Commit(t1).Ok();
        Dom0.Commit(t2).Fails("EAGAIN");
        Dom0.Read("/cf/same").Is("one");
    }

    [Fact]
    public void NoMerge_TwoTransactionsCreateUnderTheSameNewIntermediate_SecondEagain()
    {
        uint t1 = _b.Start();
        uint t2 = Dom0.Start();
        _b.Write("/cf/new/one", "1", t1).Ok();
        Dom0.Write("/cf/new/two", "2", t2).Ok();
        _b.Commit(t1).Ok();
        Dom0.Commit(t2).Fails("EAGAIN");
        Dom0.Directory("/cf/new").Is("one\0");
    }

    [Fact]
    public void NoMerge_TransactionThatListedTheParent_Eagain()
    {
        uint lister = _b.Start();
        uint creator = Dom0.Start();
        _b.Directory("/cf", lister).Is("a\0");
        _b.Write("/cf/z", "z", lister).Ok();
        Dom0.Write("/cf/x", "x", creator).Ok();
        Dom0.Commit(creator).Ok();
        _b.Commit(lister).Fails("EAGAIN");
        Dom0.Directory("/cf").Is("a\0x\0");
    }

    [Fact]
    public void NoMerge_ListingAfterOwnCreate_StillConflictsWithConcurrentSiblingCreate()
    {
        uint tx = _b.Start();
        _b.Write("/cf/x", "x", tx).Ok();
        _b.Directory("/cf", tx).Is("a\0x\0");
        Dom0.Write("/cf/y", "y").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void Commit_RemoveThenRecreate_AppliesFinalState()
    {
        Dom0.Write("/cf/a/c", "c").Ok();
        uint tx = _b.Start();
        _b.Rm("/cf/a", tx).Ok();
        _b.Write("/cf/a", "again", tx).Ok();
        _b.Commit(tx).Ok();
        Dom0.Read("/cf/a").Is("again");
        Dom0.Directory("/cf/a").Is("");
        _h.AssertConsistent();
    }

    [Fact]
    public void RemoveRecreateAndList_WithoutConcurrentChange_Commits()
    {
        Dom0.Write("/cf/a/c", "c").Ok();
        uint tx = _b.Start();
        _b.Rm("/cf/a", tx).Ok();
        _b.Mkdir("/cf/a", tx).Ok();
        _b.Write("/cf/a/d", "d", tx).Ok();
        _b.Directory("/cf/a", tx).Is("d\0");
        _b.Commit(tx).Ok();
        Dom0.Directory("/cf/a").Is("d\0");
        _h.AssertConsistent();
    }

    [Fact]
    public void RemoveRecreateAndList_ConcurrentChildChange_Eagain()
    {
        Dom0.Write("/cf/a/c", "c").Ok();
        uint tx = _b.Start();
        _b.Rm("/cf/a", tx).Ok();
        _b.Mkdir("/cf/a", tx).Ok();
        _b.Directory("/cf/a", tx).Is("");
        Dom0.Write("/cf/a/other", "o").Ok();
        _b.Commit(tx).Fails("EAGAIN");
    }

    [Fact]
    public void Commit_SetPermsInTransaction_Applied()
    {
        uint tx = _b.Start();
        _b.SetPermsIn(tx, "/cf/a", "n0", "r5").Ok();
        _b.GetPerms("/cf/a", tx).Is("n0\0r5\0");
        Dom0.GetPerms("/cf/a").Is("n0\0");
        _b.Commit(tx).Ok();
        Dom0.GetPerms("/cf/a").Is("n0\0r5\0");
    }

    [Fact]
    public void GuestTransaction_CreatesOwnedNodes_AndAccountsThemAtCommit()
    {
        TestConnection dom5 = _h.GuestWithHome(5);
        uint tx = dom5.Start();
        dom5.Write("data/a/b", "v", tx).Ok();
        dom5.Rm("data/a/b", tx).Ok();
        dom5.Write("data/c", "v", tx).Ok();
        dom5.Commit(tx).Ok();
        Dom0.GetPerms("/local/domain/5/data/c").Is("n5\0");
        Dom0.Request(XsMessageType.Control, "quota", "5").Success();
        _h.AssertConsistent();
    }

    [Fact]
    public void ManyOpenTransactions_KeepTheirOwnSnapshots()
    {
        var txs = new List<(TestConnection Conn, uint Tx, string Seen)>();
        for (int i = 0; i < 5; i++)
        {
            TestConnection c = _h.Connect(0, privileged: true);
            uint tx = c.Start();
            string value = "v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            txs.Add((c, tx, i == 0 ? "1" : "v" + (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Dom0.Write("/cf/a", value).Ok();
        }
        foreach ((TestConnection c, uint tx, string seen) in txs)
        {
            c.Read("/cf/a", tx).Is(seen);
        }
        foreach ((TestConnection c, uint tx, string seen) in txs.AsEnumerable().Reverse())
        {
            c.Read("/cf/a", tx).Is(seen);
            c.Abort(tx).Ok();
        }
        Dom0.Read("/cf/a").Is("v4");
        Assert.Equal(0, _h.Engine.Statistics.OpenTransactions);
        _h.AssertConsistent();
    }
}
