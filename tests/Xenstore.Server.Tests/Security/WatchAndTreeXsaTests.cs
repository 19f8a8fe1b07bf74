using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>Advisories about watch events and the shape of the tree: oversized events, deep trees, path lengths.</summary>
public sealed class WatchAndTreeXsaTests
{
    /// <summary>
    /// XSA-324: a watch with a huge token made an event longer than the payload limit, and sending it crashed C
    /// xenstored (a NULL dereference when no request was under way).
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa324_AnEventOverThePayloadLimitIsDropped_TheNextOneDelivered(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        string token = new('t', 4000);
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "data", token).Text);
        Assert.Equal(["data", token], guest.NextEvent()!.Strings);

        // "data/<200 characters>" and the token: over 4096 bytes, not sent.
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/local/domain/5/data/" + new string('l', 200), "v"));
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync("/local/domain/5/data/s", "v"));
        Assert.Equal(["data/s", token], guest.NextEvent()!.Strings);
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-418: C xenstored walked the tree recursively (deleting, checking, building records), so a deep enough
    /// tree exhausted its stack.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa418_DeepTreesAreWalkedDeletedAndReleasedWithoutExhaustingTheStack(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        // 990 levels below /tool/deep (a path of about 1,990 bytes, within every daemon's limit for dom0).
        string deepest = "/tool/deep" + string.Concat(Enumerable.Repeat("/a", 990));
        await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync(deepest, "bottom"));
        Assert.Equal("bottom", (await host.Dom0.ReadAsync(deepest)).Text);
        await XsaHost.ExpectOkAsync(host.Dom0.SetPermsAsync(deepest, "n0", "r5"));
        Assert.Equal("OK", (await host.Dom0.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
        await XsaHost.ExpectOkAsync(host.Dom0.RmAsync("/tool/deep"));
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/tool/deep")).ErrorName);

        // A guest's own deep tree (about 900 levels, within its quota), removed with the domain.
        string guestDeepest = "data" + string.Concat(Enumerable.Repeat("/b", 900));
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write(guestDeepest, "v"u8)).Text);
        await host.DestroyDomainAsync(5);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data")).ErrorName);
        await host.AssertHealthyAsync();
    }

    /// <summary>
    /// XSA-323: oxenstored measured a relative path before prefixing it with the domain's home, so a guest could
    /// create nodes whose absolute path was too long to be named again.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa323_APathTheGuestCreatedCanBeNamedAgain_AndTooLongOnesAreRefused(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        // A relative path of 2,004 bytes: 19 components of 99 characters under "data".
        var relative = new StringBuilder("data");
        for (int i = 0; i < 20; i++)
        {
            relative.Append('/').Append((char)('a' + i), 99);
        }
        string path = relative.ToString();
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write(path, "v"u8)).Text);
        Assert.Equal("v", guest.Request(XsMessageType.Read, path).Text);
        Assert.Equal("v", guest.Request(XsMessageType.Read, "/local/domain/5/" + path).Text);
        Assert.Equal("v", (await host.Dom0.ReadAsync("/local/domain/5/" + path)).Text);
        Assert.Equal("OK", guest.Request(XsMessageType.Rm, "/local/domain/5/" + path).Text);

        string tooLong = "data/" + string.Join('/', Enumerable.Repeat(new string('z', 99), 22));
        Assert.Equal("EINVAL", guest.Request(XsMessageType.Write, RawPayload.Write(tooLong, "v"u8)).ErrorName);
        Assert.Equal("EINVAL", guest.Request(XsMessageType.Write, RawPayload.Write("/local/domain/5/" + tooLong, "v"u8)).ErrorName);
        await host.AssertHealthyAsync(guest);
    }
}
