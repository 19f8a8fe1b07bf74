using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Requests;
using Xenstore.Store.Tree;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests.Tree;

/// <summary>
/// The lookup of a path argument without allocating (<see cref="RequestChecks.LookUp"/>): what it finds, what it
/// reports missing, and what it leaves to the general way; and the requests that use it giving the same answers as
/// the general way, which a transaction's view always takes.
/// </summary>
public sealed class PathLookupTests
{
    private static readonly XsPermission[] s_perms = [new(XsAccess.None, 0)];

    private readonly DomainTable _domains = new(new QuotaSet(), XsServerFeatures.Error);
    private readonly NodeTree _tree = new LiveTree().Nodes;
    private readonly RequestChecks _checks;
    private readonly Connection _dom0 = new(1, 0, privileged: true);
    private readonly Connection _guest = new(2, 5, privileged: false);

    public PathLookupTests()
    {
        _checks = new RequestChecks(_domains);
        Add("/a/b");
        Add("/local/domain/5/data/x");
        // Names of one length and of several, past the linear scan (16) and past the plain array (256).
        for (int i = 0; i < 300; i++)
        {
            Add($"/many/k{i}");
        }
        for (int i = 0; i < 20; i++)
        {
            Add($"/sorted/n{i}");
        }
    }

    private void Add(string path)
    {
        string parent = "/";
        foreach (string name in path[1..].Split('/'))
        {
            string child = NodeWalk.ChildPath(parent, name);
            if (_tree.Get(child) is null)
            {
                _tree.AddChild(_tree.GetMutable(parent), name, Encoding.ASCII.GetBytes(child), s_perms);
            }
            parent = child;
        }
    }

    private PathLookup LookUp(Connection connection, string raw, out Node? node, out string? missing) =>
        _checks.LookUp(connection, Encoding.ASCII.GetBytes(raw), _tree, out node, out missing);

    [Theory]
    [InlineData("/", "")]
    [InlineData("/a", "a")]
    [InlineData("/a/b", "b")]
    [InlineData("/many/k0", "k0")]
    [InlineData("/many/k29", "k29")]
    [InlineData("/many/k299", "k299")]
    [InlineData("/sorted/n7", "n7")]
    [InlineData("/sorted/n17", "n17")]
    [InlineData("/local/domain/5/data/x", "x")]
    public void AnExistingNode_IsFound(string path, string name)
    {
        Assert.Equal(PathLookup.Found, LookUp(_dom0, path, out Node? node, out string? missing));
        Assert.Same(_tree.Get(path), node);
        Assert.Equal(name, node!.Name);
        Assert.Null(missing);
    }

    [Fact]
    public void ARelativePath_IsFoundUnderTheCallersHome()
    {
        Assert.Equal(PathLookup.Found, LookUp(_guest, "data/x", out Node? node, out _));
        Assert.Same(_tree.Get("/local/domain/5/data/x"), node);
        Assert.Equal(PathLookup.Found, LookUp(_guest, "data", out node, out _));
        Assert.Same(_tree.Get("/local/domain/5/data"), node);
    }

    [Theory]
    [InlineData("/c", "/c")]
    [InlineData("/a/c", "/a/c")]
    [InlineData("/a/b/c", "/a/b/c")]
    [InlineData("/many/k300", "/many/k300")]
    [InlineData("/many/k", "/many/k")]
    [InlineData("/many/k2999", "/many/k2999")]
    [InlineData("/sorted/n20", "/sorted/n20")]
    [InlineData("/sorted/m1", "/sorted/m1")]
    [InlineData("data/y", "/local/domain/5/data/y")]
    [InlineData("x", "/local/domain/5/x")]
    public void AMissingNode_IsReportedWithItsCanonicalPathToTheUnprivilegedOnly(string path, string canonical)
    {
        Assert.Equal(PathLookup.Missing, LookUp(_guest, path, out Node? node, out string? missing));
        Assert.Null(node);
        Assert.Equal(canonical, missing);
        Assert.Equal(PathLookup.Missing, LookUp(new Connection(3, 5, privileged: true), path, out node, out missing));
        Assert.Null(node);
        Assert.Null(missing);
    }

    [Theory]
    [InlineData("")]
    [InlineData("//")]
    [InlineData("/a//b")]
    [InlineData("/a/")]
    [InlineData("a/")]
    [InlineData("/a b")]
    [InlineData("/a.b")]
    [InlineData("/a\u00e9")]
    [InlineData("@introduceDomain")]
    [InlineData("@other")]
    public void InvalidAndSpecialPaths_AreLeftToTheGeneralWay(string path)
    {
        byte[] raw = Encoding.Latin1.GetBytes(path);
        Assert.Equal(PathLookup.Unresolved, _checks.LookUp(_dom0, raw, _tree, out Node? node, out string? missing));
        Assert.Null(node);
        Assert.Null(missing);
    }

    [Fact]
    public void PathsTooLongForTheLookupBuffer_AreLeftToTheGeneralWay()
    {
        string longest = "/" + new string('a', 230);
        Assert.Equal(PathLookup.Missing, LookUp(_dom0, longest, out _, out _));
        Assert.Equal(PathLookup.Unresolved, LookUp(_dom0, longest + "a", out _, out _));
        string relative = new('b', 231);
        Assert.Equal(PathLookup.Missing, LookUp(_guest, relative, out _, out string? missing));
        Assert.Equal("/local/domain/5/" + relative, missing);
        // The longest home: the buffer holds it with the longest relative path taken here.
        var farGuest = new Connection(4, uint.MaxValue, privileged: false);
        Assert.Equal(PathLookup.Missing, LookUp(farGuest, relative, out _, out missing));
        Assert.Equal("/local/domain/4294967295/" + relative, missing);
    }

    [Fact]
    public void APathOverTheCallersPathQuota_IsLeftToTheGeneralWay()
    {
        _domains.GlobalQuotas[Quota.PathMax] = 6;
        // Measured below the home: "data/x" is 6, allowed; the same node by its absolute path too.
        Assert.Equal(PathLookup.Found, LookUp(_guest, "data/x", out _, out _));
        Assert.Equal(PathLookup.Found, LookUp(_guest, "/local/domain/5/data/x", out _, out _));
        Assert.Equal(PathLookup.Unresolved, LookUp(_guest, "data/xy", out _, out _));
        Assert.Equal(PathLookup.Unresolved, LookUp(_guest, "/many/k10", out _, out _));
        Assert.Equal(PathLookup.Found, LookUp(_guest, "/a/b", out _, out _));
        // The privileged are held to no quota.
        Assert.Equal(PathLookup.Found, LookUp(_dom0, "/many/k10", out _, out _));
        _domains.GlobalQuotas[Quota.PathMax] = 0;
        Assert.Equal(PathLookup.Found, LookUp(_guest, "/many/k10", out _, out _));
    }

    [Fact]
    public void APathRememberedFromAnotherCaller_IsStillHeldToTheCallersPathQuota()
    {
        _domains.GlobalQuotas[Quota.PathMax] = 6;
        var live = new TreeView(_tree, null);
        bool FindLive(Connection connection, string argument, out Node? node) =>
            _checks.TryFindLive(connection, live, Encoding.ASCII.GetBytes(argument + "\0"), XsAccess.Read, out node, out _);

        // Dom0 looks it up first: the live tree remembers the node, and the guest's lookup finds it remembered.
        Assert.True(FindLive(_dom0, "/many/k10", out Node? node));
        Assert.Same(node, _tree.FindRemembered("/many/k10"u8, out _));
        Assert.False(FindLive(_guest, "/many/k10", out _));
        Assert.True(FindLive(_dom0, "/local/domain/5/data/x", out node));
        Assert.True(FindLive(_guest, "/local/domain/5/data/x", out Node? again));
        Assert.Same(node, again);
        // A relative path is not remembered: its node depends on the caller's domain.
        Assert.True(FindLive(_guest, "data/x", out _));
        Assert.Null(_tree.FindRemembered("data/x"u8, out _));
        // A remembered path followed by a second argument is not that path's one argument.
        Assert.False(_checks.TryFindLive(_dom0, live, "/many/k10\0x\0"u8, XsAccess.Read, out _, out _));
        Assert.False(_checks.TryFindLive(_dom0, live, "/many/k10"u8, XsAccess.Read, out _, out _));
    }

    [Fact]
    public void ReadDirectoryAndGetPerms_AnswerAliveAsInATransaction()
    {
        var quotas = new QuotaSet();
        quotas[Quota.PathMax] = 40;
        var h = new EngineHarness(new EngineOptions { Quotas = quotas });
        TestConnection dom0 = h.Dom0;
        TestConnection guest = h.GuestWithHome(7);
        dom0.Write("/open/v", "value").Ok();
        dom0.SetPerms("/open", "n0", "r7").Ok();
        dom0.SetPerms("/open/v", "n0", "r7").Ok();
        dom0.Write("/closed/v", "secret").Ok();
        guest.Write("mine/w", "w").Ok();
        string[] paths =
        [
            "/", "/open", "/open/v", "/open/missing", "/closed", "/closed/v", "/closed/missing", "/nowhere/at/all",
            "mine", "mine/w", "mine/missing", "/local/domain/7/mine/w", "", "/a//b", "/open/", "bad path",
            "@introduceDomain", "@releaseDomain", "@nothing", "/" + new string('x', 300), new('y', 45),
        ];
        foreach (TestConnection connection in new[] { dom0, guest })
        {
            uint tx = connection.Start();
            foreach (string path in paths)
            {
                foreach (XsMessageType type in new[] { XsMessageType.Read, XsMessageType.Directory, XsMessageType.GetPerms })
                {
                    Reply live = connection.Request(type, path);
                    Reply inTransaction = connection.RequestIn(tx, type, path);
                    Assert.True(live.Text == inTransaction.Text && live.IsError == inTransaction.IsError,
                        $"{type} {path} as domain {connection.Domid}: {live.Text} alive, {inTransaction.Text} in a transaction");
                }
            }
            connection.Abort(tx).Ok();
        }
        dom0.Read("/open/v").Is("value");
        guest.Read("/open/v").Is("value");
        guest.Read("/closed/v").Fails("EACCES");
        guest.Read("/closed/missing").Fails("EACCES");
        guest.Read("mine/missing").Fails("ENOENT");
        guest.Read(new string('y', 45)).Fails("EINVAL");
        dom0.Read(new string('y', 45)).Fails("ENOENT");
        guest.Directory("mine").Is("w\0");
        guest.GetPerms("/open/v").Is("n0\0r7\0");
        h.AssertConsistent();
    }
}
