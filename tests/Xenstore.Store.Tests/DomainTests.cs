using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>Domain requests and the domain lifecycle (reference §6).</summary>
public sealed class DomainTests
{
    private readonly EngineHarness _h = new();

    private TestConnection Dom0 => _h.Dom0;

    private Reply Introduce(params string[] args) => Dom0.Request(XsMessageType.Introduce, args);

    private Reply IsIntroduced(string domid) => Dom0.Request(XsMessageType.IsDomainIntroduced, domid);

    [Fact]
    public void Introduce_ArgumentHandling()
    {
        Introduce("5", "1").Fails("EINVAL");
        Introduce("5").Fails("EINVAL");
        Introduce("5", "1", "0").Fails("EINVAL");
        Introduce("5", "1", "-1").Fails("EINVAL");
        Introduce("5", "x", "1").Fails("EINVAL");
        Introduce("5", "1", "1", "1").Fails("EINVAL");
        IsIntroduced("5").Is("F\0");
        Introduce("5", "1", "1").Ok();
        IsIntroduced("5").Is("T\0");
        // Re-introduction with other values is accepted (C rebinds).
        Introduce("5", "99", "7").Ok();
        IsIntroduced("5").Is("T\0");
    }

    [Fact]
    public void IsDomainIntroduced_Dom0AndDomidSelfAreAlwaysIntroduced()
    {
        IsIntroduced("0").Is("T\0");
        IsIntroduced("32752").Is("T\0");
        IsIntroduced("abc").Fails("EINVAL");
        IsIntroduced("70000").Fails("EINVAL");
        IsIntroduced("77").Is("F\0");
        Dom0.Raw(XsMessageType.IsDomainIntroduced, "5"u8.ToArray()).Fails("EINVAL");
    }

    [Fact]
    public void Release_ArgumentHandling()
    {
        Dom0.Request(XsMessageType.Release, "0").Fails("EINVAL");
        Dom0.Request(XsMessageType.Release, "77").Fails("ENOENT");
        Dom0.Raw(XsMessageType.Release, "5"u8.ToArray()).Fails("EINVAL");
        Dom0.Request(XsMessageType.Release, "5x").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetTarget, "abc", "1").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetTarget, "0", "-1").Fails("EINVAL");
        Introduce("abc", "1", "1").Fails("EINVAL");
        Introduce("65535", "1", "1").Fails("EINVAL");
        Introduce("5", "1", "1").Ok();
        Dom0.Request(XsMessageType.Release, "5").Ok();
        IsIntroduced("5").Is("F\0");
        Dom0.Request(XsMessageType.Release, "5").Fails("ENOENT");
    }

    [Fact]
    public void Resume_ArgumentHandling()
    {
        Dom0.Request(XsMessageType.Resume, "0").Fails("EINVAL");
        Dom0.Request(XsMessageType.Resume, "77").Fails("ENOENT");
        Introduce("5", "1", "1").Ok();
        Dom0.Request(XsMessageType.Resume, "5").Ok();
    }

    [Fact]
    public void SetTarget_BothMustBeIntroduced()
    {
        Introduce("5", "1", "1").Ok();
        Dom0.Request(XsMessageType.SetTarget, "5", "6").Fails("ENOENT");
        Dom0.Request(XsMessageType.SetTarget, "6", "5").Fails("ENOENT");
        Dom0.Request(XsMessageType.SetTarget, "5").Fails("EINVAL");
        Introduce("6", "1", "1").Ok();
        Dom0.Request(XsMessageType.SetTarget, "6", "5").Ok();
    }

    [Fact]
    public void Release_DropsTargetRelationsToTheReleasedDomain()
    {
        TestConnection guest = _h.GuestWithHome(5);
        Dom0.Write("/local/domain/5/data/secret", "s").Ok();
        Dom0.SetPerms("/local/domain/5/data/secret", "n5").Ok();
        TestConnection stub = _h.Guest(6);
        Dom0.Request(XsMessageType.SetTarget, "6", "5").Ok();
        Dom0.Write("/reused", "r").Ok();
        Dom0.SetPerms("/reused", "n5").Ok();
        stub.Read("/reused").Is("r");
        Dom0.Request(XsMessageType.Release, "5").Ok();
        // Domain 5 comes back as a new domain: the stub domain's relation to the old one is gone.
        Introduce("5", "1", "1").Ok();
        Dom0.Read("/reused").Fails("ENOENT");
        Dom0.Write("/reused", "again").Ok();
        Dom0.SetPerms("/reused", "n5").Ok();
        stub.Read("/reused").Fails("EACCES");
        Assert.Null(_h.Engine.CheckConsistency());
        GC.KeepAlive(guest);
    }

    [Fact]
    public void Release_DeletesOwnedNodesWithEvents_ScrubsAcls_ResetsAccounting()
    {
        TestConnection dom5 = _h.GuestWithHome(5);
        dom5.Write("data/x", "1").Ok();
        Dom0.Write("/shared/k", "v").Ok();
        Dom0.SetPerms("/shared", "n0", "w5").Ok();
        dom5.Write("/shared/mine/deep", "m").Ok();
        Dom0.SetPerms("/shared/k", "n0", "r5", "w6").Ok();
        // A dom0-owned node below a dom5-owned one goes with its parent.
        Dom0.Write("/local/domain/5/byzero", "z").Ok();
        Dom0.SetPerms("/local/domain/5/byzero", "n0").Ok();
        Dom0.WatchQuietly("/local/domain", "dom");
        Dom0.WatchQuietly("/shared/mine/deep", "deep");
        Dom0.WatchQuietly("/shared", "shared");
        Dom0.WatchQuietly("@releaseDomain", "rel");

        Reply r = Dom0.Request(XsMessageType.Release, "5").Ok();

        Dom0.Read("/local/domain/5").Fails("ENOENT");
        Dom0.Read("/shared/mine").Fails("ENOENT");
        Dom0.Read("/shared/k").Is("v");
        Dom0.GetPerms("/shared").Is("n0\0");
        Dom0.GetPerms("/shared/k").Is("n0\0w6\0");
        Assert.False(_h.Engine.HasConnection(dom5.Id));
        var events = r.EventsBefore.Concat(r.EventsAfter).ToList();
        Assert.Contains(new WatchEvent("/local/domain/5", "dom"), events);
        Assert.Contains(new WatchEvent("/shared/mine", "shared"), events);
        Assert.Contains(new WatchEvent("/shared/mine/deep", "deep"), events);
        Assert.Contains(new WatchEvent("@releaseDomain", "rel"), events);
        Assert.DoesNotContain(new WatchEvent("/local/domain/5/data/x", "dom"), events);
        Dom0.Request(XsMessageType.Control, "quota", "5").Success();
        _h.AssertConsistent();
    }

    [Fact]
    public void Release_NodeEventsComeBeforeReleaseDomain()
    {
        _h.GuestWithHome(5);
        Dom0.WatchQuietly("/local/domain", "dom");
        Dom0.WatchQuietly("@releaseDomain", "rel");
        Reply r = Dom0.Request(XsMessageType.Release, "5").Ok();
        Assert.Equal([new WatchEvent("/local/domain/5", "dom"), new WatchEvent("@releaseDomain", "rel")], r.EventsBefore);
        Assert.Empty(r.EventsAfter);
    }

    [Fact]
    public void Release_ThenReintroduce_StartsWithFreshAccountingAndNoInheritedAccess()
    {
        Dom0.Request(XsMessageType.SetQuota, "nodes", "3").Ok();
        TestConnection dom5 = _h.GuestWithHome(5);
        dom5.Write("a", "").Ok();
        dom5.Write("b", "").Ok();
        dom5.Write("c", "").Fails("ENOSPC");
        dom5.Watch("a", "t").Ok();
        uint tx = dom5.Start();
        Dom0.Write("/secret", "s").Ok();
        Dom0.SetPerms("/secret", "n0", "r5").Ok();
        Dom0.Request(XsMessageType.Release, "5").Ok();
        Assert.Equal(0, _h.Engine.Statistics.Watches);
        Assert.Equal(0, _h.Engine.Statistics.OpenTransactions);

        TestConnection again = _h.GuestWithHome(5);
        again.Write("a", "").Ok();
        again.Write("b", "").Ok();
        again.Read("/secret").Fails("EACCES");
        again.Read("a", tx).Fails("ENOENT");
        _h.AssertConsistent();
    }

    [Fact]
    public void ReleaseEvents_ReachPrivilegedAndPermittedWatchersOnly()
    {
        _h.GuestWithHome(5);
        TestConnection dom6 = _h.Guest(6);
        TestConnection dom7 = _h.Guest(7);
        Dom0.SetPerms("@releaseDomain", "n0", "r7").Ok();
        Dom0.WatchQuietly("@releaseDomain", "d0");
        dom6.WatchQuietly("@releaseDomain", "d6");
        dom7.WatchQuietly("@releaseDomain", "d7");
        _h.Engine.Domains.Release(5);
        Assert.Contains(new WatchEvent("@releaseDomain", "d0"), Dom0.TakeEvents());
        Assert.Empty(dom6.TakeEvents());
        Assert.Equal([new WatchEvent("@releaseDomain", "d7")], dom7.TakeEvents());
        Assert.False(_h.Engine.Domains.IsIntroduced(5));
        _h.AssertConsistent();
    }

    [Fact]
    public void ReleasedDomain_IsScrubbedFromSpecialPerms()
    {
        _h.Guest(7);
        Dom0.SetPerms("@releaseDomain", "n0", "r7").Ok();
        Dom0.Request(XsMessageType.Release, "7").Ok();
        Dom0.GetPerms("@releaseDomain").Is("n0\0");
    }

    [Fact]
    public void Shutdown_FiresOnceUntilResume()
    {
        _h.Guest(5);
        Dom0.WatchQuietly("@releaseDomain", "r");
        _h.Engine.Domains.Shutdown(5);
        Assert.Equal(["@releaseDomain"], Dom0.TakeEventPaths());
        _h.Engine.Domains.Shutdown(5);
        Assert.Empty(Dom0.TakeEvents());
        Dom0.Request(XsMessageType.Resume, "5").Ok();
        _h.Engine.Domains.Shutdown(5);
        Assert.Equal(["@releaseDomain"], Dom0.TakeEventPaths());
        _h.Engine.Domains.Shutdown(77);
        Assert.Empty(Dom0.TakeEvents());
        IsIntroduced("5").Is("T\0");
    }

    [Fact]
    public void Features_GetSetBeforeIntroduce_EbusyAfter()
    {
        Dom0.Raw(XsMessageType.GetFeature, []).Is("15\0");
        Dom0.Request(XsMessageType.GetFeature, "9").Is("15\0");
        Dom0.Request(XsMessageType.SetFeature, "9", "4").Ok();
        Dom0.Request(XsMessageType.GetFeature, "9").Is("4\0");
        Dom0.Request(XsMessageType.SetFeature, "9", "16").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetFeature, "9").Fails("EINVAL");
        Dom0.Request(XsMessageType.SetFeature, "x", "1").Fails("EINVAL");
        Dom0.Request(XsMessageType.GetFeature, "x").Fails("EINVAL");
        // dom0 is connected from the start: too late to change its features, as in C 4.22.
        Dom0.Request(XsMessageType.SetFeature, "0", "1").Fails("EBUSY");
        Introduce("9", "1", "1").Ok();
        Dom0.Request(XsMessageType.SetFeature, "9", "1").Fails("EBUSY");
        Dom0.Request(XsMessageType.GetFeature, "9").Is("4\0");
        Assert.Equal(XsServerFeatures.WatchDepth, _h.Engine.Domains.FeaturesOf(9));
    }

    [Fact]
    public void Features_ServerWithFewerFeatures_RejectsOthers()
    {
        var h = new EngineHarness(new EngineOptions { ServerFeatures = XsServerFeatures.Error });
        h.Dom0.Raw(XsMessageType.GetFeature, []).Is("2\0");
        h.Dom0.Request(XsMessageType.SetFeature, "9", "4").Fails("EINVAL");
        h.Dom0.Request(XsMessageType.SetFeature, "9", "2").Ok();
        h.Dom0.Request(XsMessageType.Watch, "/a", "t", "1").Ok();
    }
}
