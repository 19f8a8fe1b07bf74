using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>Advisories about domains coming and going: introduction, release, death, soft reset, domain ids reused.</summary>
public sealed class DomainLifecycleXsaTests
{
    /// <summary>
    /// XSA-233: a domain and its device-model stub domain destroyed at the same time had their shared connection
    /// unlinked twice (a use after free in C xenstored).
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa233_ADomainAndItsStubDomainDyingTogetherAreBothCleanedUp(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        using SimulatedGuest stub = await host.CreateDomainAsync(6);
        using SimulatedGuest bystander = await host.CreateDomainAsync(7);
        await XsaHost.ExpectOkAsync(host.Dom0.RequestAsync(XsMessageType.SetTarget, RawPayload.Strings("6", "5")));
        Assert.Equal("OK", stub.Request(XsMessageType.Write, RawPayload.Write("/local/domain/5/data/from-stub", "s"u8)).Text);

        await File.WriteAllTextAsync(Path.Combine(host.RingDirectory, "dying.5"), "");
        await File.WriteAllTextAsync(Path.Combine(host.RingDirectory, "dying.6"), "");
        host.RaiseDomainException();
        await host.DestroyDomainAsync(6);
        await host.DestroyDomainAsync(5);

        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data/from-stub")).ErrorName);
        await host.AssertHealthyAsync(bystander);
    }

    /// <summary>
    /// XSA-419: nodes a destroyed domain had created outside its home stayed (owned by dom0 since XSA-322), so
    /// guests rebooting in a loop could grow the store without bound.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa419_EveryNodeADestroyedDomainOwnedIsRemoved(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        await XsaHost.ExpectOkAsync(host.Dom0.MkdirAsync("/tool/shared"));
        await XsaHost.ExpectOkAsync(host.Dom0.SetPermsAsync("/tool/shared", "n0", "b5"));
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write($"/tool/shared/g5/n{i}/leaf", "v"u8)).Text);
            Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write($"data/n{i}", "v"u8)).Text);
        }

        await host.DestroyDomainAsync(5);
        Assert.DoesNotContain((await host.Dom0.DirectoryAsync("/tool/shared")).Strings, s => s.Length > 0);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data")).ErrorName);
        foreach (string node in await host.ListSubtreeAsync("/"))
        {
            RawMessage perms = await host.Dom0.GetPermsAsync(node);
            Assert.False(perms.Strings[0] is ['n' or 'r' or 'w' or 'b', '5'], $"{node} is still owned by the destroyed domain 5");
        }
        await host.AssertHealthyAsync();
    }

    /// <summary>
    /// XSA-483: oxenstored kept a destroyed domain's node count, so a new domain with the same id started (partly
    /// or wholly) over its quota.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa483_ANewDomainWithAReusedIdStartsWithItsWholeQuota(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        await host.TrySetQuotaAsync("nodes", 40);
        using SimulatedGuest first = await host.CreateDomainAsync(5);
        int before = QuotaXsaTests.FillNodeQuota(first, "n");

        await host.DestroyDomainAsync(5);
        using SimulatedGuest second = await host.CreateDomainAsync(5);
        Assert.Equal(before, QuotaXsaTests.FillNodeQuota(second, "m"));
        await host.AssertHealthyAsync(second);
    }

    /// <summary>
    /// XSA-425: RELEASE while C xenstored walked its connections (a guest's soft reset, as for kexec, makes the
    /// toolstack release and introduce the domain again) freed a connection twice.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa425_SoftResetsWhileTheGuestIsBusyLeaveTheDaemonServing(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest bystander = await host.CreateDomainAsync(7);
        for (int round = 0; round < 5; round++)
        {
            using SimulatedGuest guest = await host.CreateDomainAsync(5);
            Assert.Equal("guest5", guest.Request(XsMessageType.Read, "name").Text);
            // Requests still in the ring when the toolstack releases the domain.
            for (uint i = 0; i < 10; i++)
            {
                guest.Send(XsMessageType.Write, RawPayload.Write($"data/busy{i}", "v"u8));
            }
            await XsaHost.ExpectOkAsync(host.Dom0.RequestAsync(XsMessageType.Release, RawPayload.Strings("5")));
        }
        using SimulatedGuest last = await host.CreateDomainAsync(5);
        Assert.Equal("OK", last.Request(XsMessageType.Write, RawPayload.Write("data/after", "v"u8)).Text);
        await host.AssertHealthyAsync(last, bystander);
    }
}
