using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>Quotas: inclusive maxima for unprivileged domains, global and per domain (reference §8.3).</summary>
public sealed class QuotaTests
{
    private readonly EngineHarness _h = new();
    private readonly TestConnection _dom5;

    public QuotaTests()
    {
        _dom5 = _h.GuestWithHome(5);
    }

    private TestConnection Dom0 => _h.Dom0;

    private void SetQuota(string name, long value) =>
        Dom0.Request(XsMessageType.SetQuota, name, value.ToString(CultureInfo.InvariantCulture)).Ok();

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Nodes_DomainMayOwnExactlyTheQuota()
    {
        SetQuota("nodes", 5);
        // The home counts: it is owned by dom5.
        for (int i = 0; i < 4; i++)
        {
            _dom5.Write("n" + S(i), "").Ok();
        }
        _dom5.Write("n9", "").Fails("ENOSPC");
        _dom5.Mkdir("n9").Fails("ENOSPC");
        _dom5.Write("n0", "overwrite is fine").Ok();
        _dom5.Rm("n0").Ok();
        _dom5.Write("a/b", "").Fails("ENOSPC");
        _dom5.Write("a", "").Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void Nodes_CountEveryCreatedLevel()
    {
        SetQuota("nodes", 3);
        _dom5.Write("a/b/c", "").Fails("ENOSPC");
        _dom5.Read("a").Fails("ENOENT");
        _dom5.Write("a/b", "").Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void Nodes_InsideTransaction_CountTransactionChanges()
    {
        SetQuota("nodes", 3);
        uint tx = _dom5.Start();
        _dom5.Write("a", "", tx).Ok();
        _dom5.Write("b", "", tx).Ok();
        _dom5.Write("c", "", tx).Fails("ENOSPC");
        _dom5.Rm("a", tx).Ok();
        _dom5.Write("c", "", tx).Ok();
        _dom5.Commit(tx).Ok();
        _dom5.Write("d", "").Fails("ENOSPC");
        _h.AssertConsistent();
    }

    [Fact]
    public void Nodes_CheckedAgainAtCommit()
    {
        SetQuota("nodes", 3);
        uint tx = _dom5.Start();
        _dom5.Write("a", "", tx).Ok();
        _dom5.Write("b", "").Ok();
        _dom5.Write("c", "").Ok();
        _dom5.Commit(tx).Fails("ENOSPC");
        _dom5.Read("a").Fails("ENOENT");
        uint removing = _dom5.Start();
        _dom5.Rm("b", removing).Ok();
        _dom5.Write("d", "", removing).Ok();
        _dom5.Commit(removing).Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void Nodes_PrivilegedIsUnlimited()
    {
        SetQuota("nodes", 1);
        for (int i = 0; i < 10; i++)
        {
            Dom0.Write("/x" + S(i), "").Ok();
        }
    }

    [Fact]
    public void Nodes_OwnerChangeMovesTheCharge()
    {
        SetQuota("nodes", 2);
        Dom0.Write("/given", "").Ok();
        Dom0.SetPerms("/given", "n5").Ok();
        _dom5.Write("x", "").Fails("ENOSPC");
        Dom0.SetPerms("/given", "n0").Ok();
        _dom5.Write("x", "").Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void Nodes_RootIsChargedToNobody()
    {
        SetQuota("nodes", 2);
        Dom0.SetPerms("/", "n5").Ok();
        _dom5.Write("x", "").Ok();
        _dom5.Write("y", "").Fails("ENOSPC");
        Dom0.SetPerms("/", "n0").Ok();
        _h.AssertConsistent();
        uint tx = Dom0.Start();
        Dom0.SetPermsIn(tx, "/", "n5").Ok();
        Dom0.Commit(tx).Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void Nodes_PerDomainOverride()
    {
        SetQuota("nodes", 2);
        Dom0.Request(XsMessageType.SetQuota, "5", "nodes", "4").Ok();
        Dom0.Request(XsMessageType.GetQuota, "5", "nodes").Is("4\0");
        Dom0.Request(XsMessageType.GetQuota, "nodes").Is("2\0");
        Dom0.Request(XsMessageType.GetQuota, "6", "nodes").Is("2\0");
        _dom5.Write("a", "").Ok();
        _dom5.Write("b", "").Ok();
        _dom5.Write("c", "").Ok();
        _dom5.Write("d", "").Fails("ENOSPC");
        TestConnection dom6 = _h.GuestWithHome(6);
        dom6.Write("a", "").Ok();
        dom6.Write("b", "").Fails("ENOSPC");
    }

    [Fact]
    public void Zero_MeansUnlimited()
    {
        SetQuota("nodes", 0);
        for (int i = 0; i < 1100; i++)
        {
            _dom5.Mkdir("n" + S(i)).Ok();
        }
        _h.AssertConsistent();
    }

    [Fact]
    public void Nodes_DefaultIs1000()
    {
        Dom0.Request(XsMessageType.GetQuota, "nodes").Is("1000\0");
        for (int i = 0; i < 999; i++)
        {
            _dom5.Mkdir("n" + S(i)).Ok();
        }
        _dom5.Mkdir("one-too-many").Fails("ENOSPC");
    }

    [Fact]
    public void Watches_ExactlyTheQuota()
    {
        SetQuota("watches", 3);
        _dom5.Watch("a", "1").Ok();
        _dom5.Watch("a", "2").Ok();
        _dom5.Watch("@releaseDomain", "3").Ok();
        _dom5.Watch("a", "4").Fails("ENOSPC");
        _dom5.Unwatch("a", "1").Ok();
        _dom5.Watch("a", "4").Ok();
        Dom0.Watch("/x", "1").Ok();
        Dom0.Watch("/x", "2").Ok();
        Dom0.Watch("/x", "3").Ok();
        Dom0.Watch("/x", "4").Ok();
    }

    [Fact]
    public void Watches_CountedPerDomain_OverConnections()
    {
        SetQuota("watches", 2);
        TestConnection second = _h.Connect(5);
        _dom5.Watch("a", "1").Ok();
        second.Watch("a", "2").Ok();
        second.Watch("a", "3").Fails("ENOSPC");
        _h.Engine.CloseConnection(second.Id);
        _dom5.Watch("a", "3").Ok();
    }

    [Fact]
    public void Transactions_ExactlyTheQuota()
    {
        SetQuota("transactions", 2);
        uint t1 = _dom5.Start();
        _dom5.Start();
        _dom5.Request(XsMessageType.TransactionStart, "").Fails("ENOSPC");
        _dom5.Abort(t1).Ok();
        _dom5.Start();
        for (int i = 0; i < 5; i++)
        {
            Dom0.Start();
        }
    }

    [Fact]
    public void Transactions_DefaultIs10()
    {
        for (int i = 0; i < 10; i++)
        {
            _dom5.Start();
        }
        _dom5.Request(XsMessageType.TransactionStart, "").Fails("ENOSPC");
    }

    [Fact]
    public void NodePermissions_ExactlyTheQuota()
    {
        SetQuota("node-permissions", 3);
        _dom5.Write("p", "").Ok();
        _dom5.SetPerms("p", "n5", "r1", "r2").Ok();
        _dom5.SetPerms("p", "n5", "r1", "r2", "r3").Fails("ENOSPC");
        Dom0.SetPerms("/local/domain/5/p", "n5", "r1", "r2", "r3").Ok();
        Dom0.GetPerms("/local/domain/5/p").Is("n5\0r1\0r2\0r3\0");
    }

    [Fact]
    public void NodePermissions_AcceptsThe417Alias()
    {
        Dom0.Request(XsMessageType.SetQuota, "permissions", "4").Ok();
        Dom0.Request(XsMessageType.GetQuota, "node-permissions").Is("4\0");
    }

    [Fact]
    public void NodeSize_ValueBytesUpToTheQuota()
    {
        SetQuota("node-size", 10);
        _dom5.Write("v", new string('x', 10)).Ok();
        _dom5.Write("v", new string('x', 11)).Fails("ENOSPC");
        _dom5.Write("w", new string('x', 11)).Fails("ENOSPC");
        _dom5.Read("v").Is(new string('x', 10));
        _dom5.Read("w").Fails("ENOENT");
        Dom0.Write("/big", new string('x', 100)).Ok();
    }

    [Fact]
    public void TransactionNodes_ExactlyTheQuota()
    {
        SetQuota("transaction-nodes", 3);
        _dom5.Write("a", "").Ok();
        _dom5.Write("b", "").Ok();
        _dom5.Write("c", "").Ok();
        _dom5.Write("d", "").Ok();
        uint tx = _dom5.Start();
        _dom5.Read("a", tx).Is("");
        _dom5.Read("b", tx).Is("");
        _dom5.Read("a", tx).Is("");
        _dom5.Write("c", "changed", tx).Ok();
        _dom5.Read("d", tx).Fails("ENOSPC");
        _dom5.Write("d", "x", tx).Fails("ENOSPC");
        _dom5.Read("c", tx).Is("changed");
        _dom5.Commit(tx).Ok();
        _dom5.Read("c").Is("changed");
        _dom5.Read("d").Is("");
        _h.AssertConsistent();
    }

    [Fact]
    public void PathMax_RelativePartUpToTheQuota_Einval()
    {
        SetQuota("path-max", 10);
        _dom5.Write("abcdefghij", "").Ok();
        _dom5.Write("abcdefghijk", "").Fails("EINVAL");
        _dom5.Read("abcdefghijk").Fails("EINVAL");
        _dom5.Write("/local/domain/5/abcdefghij", "").Ok();
        _dom5.Write("/local/domain/5/abcdefghijk", "").Fails("EINVAL");
        _dom5.Watch("abcdefghijk", "t").Fails("EINVAL");
        // Outside a domain home the whole path counts.
        Dom0.Write("/pub", "").Ok();
        Dom0.SetPerms("/pub", "b0").Ok();
        _dom5.Write("/pub/56789", "").Ok();
        _dom5.Write("/pub/567890", "").Fails("EINVAL");
        Dom0.Write("/local/domain/5/abcdefghijklmnop", "").Ok();
    }

    [Fact]
    public void GetQuota_Names_GlobalAndPerDomain()
    {
        Reply names = Dom0.Raw(XsMessageType.GetQuota, []).Success();
        string[] list = names.Text.TrimEnd('\0').Split(' ');
        Assert.Contains("nodes", list);
        Assert.Contains("watches", list);
        Assert.Contains("transactions", list);
        Assert.Contains("node-size", list);
        Assert.Contains("node-permissions", list);
        Assert.Contains("path-max", list);
        Assert.Contains("transaction-nodes", list);
        Dom0.Request(XsMessageType.GetQuota, "watches").Is("128\0");
        Dom0.Request(XsMessageType.GetQuota, "transactions").Is("10\0");
        Dom0.Request(XsMessageType.GetQuota, "node-size").Is("2048\0");
        Dom0.Request(XsMessageType.GetQuota, "bogus").Fails("EINVAL");
        Dom0.Request(XsMessageType.GetQuota, "5", "bogus").Fails("EINVAL");
        Dom0.Request(XsMessageType.GetQuota, "x", "nodes").Fails("EINVAL");
    }

    [Fact]
    public void SetQuota_BadArguments_Einval()
    {
        Dom0.Request(XsMessageType.SetQuota, "nodes").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetQuota, "bogus", "5").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetQuota, "nodes", "-5").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetQuota, "nodes", "x").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetQuota, "x", "nodes", "5").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetQuota, "1", "2", "nodes", "5").Fails("EINVAL");
        Dom0.Request(XsMessageType.GetQuota, "nodes").Is("1000\0");
    }

    [Fact]
    public void ControlQuotaSet_ChangesGlobalValue()
    {
        Dom0.Request(XsMessageType.Control, "quota", "set", "nodes", "3").Is("OK\0");
        Dom0.Request(XsMessageType.GetQuota, "nodes").Is("3\0");
        Dom0.Request(XsMessageType.Control, "quota", "set", "nodes", "0").Fails("EINVAL");
        Dom0.Request(XsMessageType.Control, "quota", "set", "bogus", "3").Fails("EINVAL");
        _dom5.Write("a", "").Ok();
        _dom5.Write("b", "").Ok();
        _dom5.Write("c", "").Fails("ENOSPC");
    }
}
