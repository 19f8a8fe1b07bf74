using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>Advisories about who may see or change what: permissions, ownership, the root, domain ids reused.</summary>
public sealed class PermissionXsaTests
{
    /// <summary>
    /// XSA-115: watch events told any guest of changes to nodes it could not read; IS_DOMAIN_INTRODUCED and the
    /// special watches were open to guests; a transaction id on WATCH was honoured.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa115_AGuestHearsOnlyOfNodesItMayRead_AndCannotProbeOtherDomains(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest spy = await host.CreateDomainAsync(5);
        Assert.Equal("OK", spy.Request(XsMessageType.Watch, "/local", "all").Text);
        Assert.Equal(["/local", "all"], spy.NextEvent()!.Strings);

        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/local/domain/7/secret", "s"));
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/local/domain/5/data/mine", "m"));
        Assert.Equal(["/local/domain/5/data/mine", "all"], spy.NextEvent()!.Strings);
        Assert.Equal("guest5", spy.Request(XsMessageType.Read, "name").Text);
        Assert.Empty(spy.PendingEvents);

        Assert.Equal("EACCES", spy.Request(XsMessageType.IsDomainIntroduced, "0").ErrorName);

        // A transaction id on WATCH is ignored: the watch outlives the transaction.
        uint tx = uint.Parse(spy.Request(XsMessageType.TransactionStart, "").Text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("OK", spy.Request(XsMessageType.Watch, RawPayload.Strings("data", "in-tx"), tx).Text);
        Assert.Equal(["data", "in-tx"], spy.NextEvent()!.Strings);
        Assert.Equal("OK", spy.Request(XsMessageType.TransactionEnd, RawPayload.Strings("F"), tx).Text);
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/local/domain/5/data/after", "a"));
        var heard = new[] { spy.NextEvent(), spy.NextEvent() }.Select(e => string.Join('|', e!.Strings)).Order().ToList();
        Assert.Equal(["/local/domain/5/data/after|all", "data/after|in-tx"], heard);

        // Another domain's introduction is not announced to a guest.
        if (spy.Request(XsMessageType.Watch, "@introduceDomain", "intro").IsOk)
        {
            spy.NextEvent();
        }
        using SimulatedGuest other = await host.CreateDomainAsync(6);
        Assert.Equal("guest5", spy.Request(XsMessageType.Read, "name").Text);
        Assert.DoesNotContain(spy.PendingEvents, e => e.Strings[0] == "@introduceDomain");
        await host.AssertHealthyAsync(spy, other);
    }

    /// <summary>XSA-322: a new domain given a domain id used before inherited the old domain's permissions.</summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa322_ANewDomainWithAReusedIdInheritsNoPermission(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest old = await host.CreateDomainAsync(5);
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/tool/for-5", "secret"));
        await XsaHost.ExpectOkAsync(host.Dom0.SetPermsAsync("/tool/for-5", "n0", "r5"));
        Assert.Equal("secret", old.Request(XsMessageType.Read, "/tool/for-5").Text);

        await host.DestroyDomainAsync(5);
        using SimulatedGuest reborn = await host.CreateDomainAsync(5);
        Assert.Equal("EACCES", reborn.Request(XsMessageType.Read, "/tool/for-5").ErrorName);
        Assert.Equal("EACCES", reborn.Request(XsMessageType.Write, RawPayload.Write("/tool/for-5", "x"u8)).ErrorName);
        Assert.Equal("secret", (await host.Dom0.ReadAsync("/tool/for-5")).Text);
        await host.AssertHealthyAsync(reborn);
    }

    /// <summary>
    /// XSA-417: the XSA-322 fix let a permission entry of a destroyed domain count as valid when the node was
    /// touched before the domain id was introduced again.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa417_ANodeTouchedBetweenDeathAndReintroductionGrantsTheNewDomainNothing(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest old = await host.CreateDomainAsync(7);
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/tool/for-7", "v1"));
        await XsaHost.ExpectOkAsync(host.Dom0.SetPermsAsync("/tool/for-7", "n0", "b7"));
        Assert.Equal("OK", old.Request(XsMessageType.Write, RawPayload.Write("/tool/for-7", "by-7"u8)).Text);

        await host.DestroyDomainAsync(7);
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/tool/for-7", "v2"));
        Assert.Equal("v2", (await host.Dom0.ReadAsync("/tool/for-7")).Text);
        using SimulatedGuest reborn = await host.CreateDomainAsync(7);
        Assert.Equal("EACCES", reborn.Request(XsMessageType.Read, "/tool/for-7").ErrorName);
        Assert.Equal("EACCES", reborn.Request(XsMessageType.Write, RawPayload.Write("/tool/for-7", "x"u8)).ErrorName);
        await host.AssertHealthyAsync(reborn);
    }

    /// <summary>XSA-352: a guest could give its nodes away (moving quota onto another domain or onto dom0).</summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa352_AGuestCannotChangeTheOwnerOfItsNodes(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        using SimulatedGuest other = await host.CreateDomainAsync(6);
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write("data/k", "v"u8)).Text);
        Assert.Equal(["n5"], guest.Request(XsMessageType.GetPerms, "data/k").Strings);

        Assert.Equal("EPERM", guest.Request(XsMessageType.SetPerms, "data/k", "n0").ErrorName);
        Assert.Equal("EPERM", guest.Request(XsMessageType.SetPerms, "data/k", "b6").ErrorName);
        Assert.Equal(["n5"], guest.Request(XsMessageType.GetPerms, "data/k").Strings);
        // Granting others access to its own node is allowed.
        Assert.Equal("OK", guest.Request(XsMessageType.SetPerms, "data/k", "n5", "r6").Text);
        Assert.Equal("v", other.Request(XsMessageType.Read, "/local/domain/5/data/k").Text);
        await host.AssertHealthyAsync(guest, other);
    }

    /// <summary>XSA-353: oxenstored checked no permission on the root node: a guest could chmod, list or remove /.</summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa353_TheRootNodeIsCheckedLikeAnyOther(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        RawMessage rootPerms = await host.Dom0.GetPermsAsync("/");

        Assert.Equal("EACCES", guest.Request(XsMessageType.SetPerms, "/", "b5").ErrorName);
        Assert.Equal("EACCES", guest.Request(XsMessageType.Write, RawPayload.Write("/planted", "x"u8)).ErrorName);
        Assert.Equal("EACCES", guest.Request(XsMessageType.Mkdir, "/planted").ErrorName);
        Assert.Equal("EACCES", guest.Request(XsMessageType.Directory, "/").ErrorName);
        Assert.Equal("EACCES", guest.Request(XsMessageType.GetPerms, "/").ErrorName);
        Assert.True(guest.Request(XsMessageType.Rm, "/").IsError);
        Assert.True(guest.Request(XsMessageType.Rm, "/local").IsError);

        Assert.Equal(rootPerms.Strings, (await host.Dom0.GetPermsAsync("/")).Strings);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/planted")).ErrorName);
        Assert.Equal("guest5", (await host.Dom0.ReadAsync("/local/domain/5/name")).Text);
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-481: the path <c>/local/domain/</c> left no error set in C xenstored, which then failed an assertion
    /// (or, built without assertions, spun on the request).
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa481_ThePathLocalDomainSlashIsEinvalForEveryRequest(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        foreach (string path in new[] { "/local/domain/", "/local/domain//", "/local/domain/5/" })
        {
            Assert.Equal("EINVAL", guest.Request(XsMessageType.Read, path).ErrorName);
            Assert.Equal("EINVAL", guest.Request(XsMessageType.Write, RawPayload.Write(path, "x"u8)).ErrorName);
            Assert.Equal("EINVAL", guest.Request(XsMessageType.Mkdir, path).ErrorName);
            Assert.Equal("EINVAL", guest.Request(XsMessageType.Rm, path).ErrorName);
            Assert.Equal("EINVAL", guest.Request(XsMessageType.GetPerms, path).ErrorName);
            Assert.Equal("EINVAL", guest.Request(XsMessageType.SetPerms, path, "n5").ErrorName);
            Assert.Equal("EINVAL", guest.Request(XsMessageType.Directory, path).ErrorName);
            Assert.Equal("EINVAL", guest.Request(XsMessageType.Watch, path, "t").ErrorName);
            Assert.Equal("EINVAL", (await host.Dom0.ReadAsync(path)).ErrorName);
        }
        await host.AssertHealthyAsync(guest);
    }
}
