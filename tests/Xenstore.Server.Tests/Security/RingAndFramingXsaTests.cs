using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>Advisories about the ring and the framing of messages: what a guest writes before any request is parsed.</summary>
public sealed class RingAndFramingXsaTests
{
    /// <summary>The ring's error field (docs/misc/xenstore-ring.txt): XENSTORE_ERROR_RINGIDX, XENSTORE_ERROR_PROTO.</summary>
    private const uint BadIndexes = 2;
    private const uint MessageTooLong = 3;

    /// <summary>XSA-38: ring indexes taken from the guest unchecked; a full ring mistaken for an empty one.</summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa38_RingIndexesAreValidated_AndACompletelyFullRingIsServed(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest full = await host.CreateDomainAsync(5);
        using SimulatedGuest bad = await host.CreateDomainAsync(6);

        // Exactly 1024 bytes at once: 48 READs of 21 bytes and one empty READ of 16, so producer - consumer == 1024.
        var bytes = new List<byte>();
        for (uint i = 1; i <= 48; i++)
        {
            var frame = new byte[XsConstants.HeaderSize + 5];
            FrameParser.Write(frame, XsMessageType.Read, i, 0, "name\0"u8);
            bytes.AddRange(frame);
        }
        var empty = new byte[XsConstants.HeaderSize];
        FrameParser.Write(empty, XsMessageType.Read, 49, 0, []);
        bytes.AddRange(empty);
        Assert.Equal(RingLayout.RingSize, bytes.Count);
        full.SendRaw(bytes.ToArray());
        for (uint i = 1; i <= 48; i++)
        {
            RawMessage? reply = full.TryReceive(RawConnection.DefaultTimeout);
            Assert.NotNull(reply);
            Assert.Equal(i, reply.ReqId);
            Assert.Equal("guest5", reply.Text);
        }
        RawMessage? last = full.TryReceive(RawConnection.DefaultTimeout);
        Assert.NotNull(last);
        // EINVAL; C 4.17 gives the errno an earlier request left (XSA-481), an error all the same.
        Assert.True(last.IsError, last.Describe());

        // A producer index 5000 bytes ahead of the consumer: the ring is marked broken, nothing is read from it.
        bad.Write(RingLayout.RequestProducer, bad.Read(RingLayout.RequestConsumer) + 5000);
        bad.Notify();
        await WaitUntilAsync(() => bad.ErrorField == BadIndexes);
        await host.AssertHealthyAsync(full);
    }

    /// <summary>XSA-72: a reply longer than the 4096-byte payload limit was sent to the guest.</summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa72_AReplyOverThePayloadLimitIsE2Big_NeverAnOversizedFrame(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        string big = XsaHost.Home(5) + "/data/big";
        for (int i = 0; i < 30; i++)
        {
            await XsaHost.ExpectOkAsync(host.Dom0.WriteAsync($"{big}/{i:D3}{new string('c', 197)}", "v"));
        }

        Assert.Equal("E2BIG", guest.Request(XsMessageType.Directory, "data/big").ErrorName);
        Assert.Equal("E2BIG", (await host.Dom0.DirectoryAsync(big)).ErrorName);
        // Both streams are still in step.
        Assert.Equal("v", guest.Request(XsMessageType.Read, $"data/big/000{new string('c', 197)}").Text);
        Assert.Null(host.Dom0.ClosedReason);
        await host.AssertHealthyAsync(guest);
    }

    /// <summary>
    /// XSA-420: a length field at or above 2^31 became negative in oxenstored's 31-bit integers and the daemon spun
    /// on the packet forever.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa420_ALengthFieldOf2To31OrMoreIsRefused_OnRingAndSocket(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest bad = await host.CreateDomainAsync(5);
        using SimulatedGuest good = await host.CreateDomainAsync(6);
        var header = new byte[XsConstants.HeaderSize];
        new XsHeader(XsMessageType.Write, 1, 0, 0x8000_0000u).Write(header);
        bad.SendRaw(header);
        await WaitUntilAsync(() => bad.ErrorField == MessageTooLong);

        await using (RawConnection socket = await RawConnection.ConnectAsync(host.Daemon))
        {
            await socket.SendAsync(new XsHeader(XsMessageType.Read, 1, 0, 0xFFFF_FFFFu), []);
            Assert.True(await socket.IsClosedAsync());
        }
        await host.AssertHealthyAsync(good);
    }

    /// <summary>
    /// XSA-325: dropping a guest that broke the ring protocol also dropped its domain, firing @releaseDomain while
    /// it still ran, and none when it really died.
    /// </summary>
    [Theory]
    [MemberData(nameof(XsaHost.AllKinds), MemberType = typeof(XsaHost))]
    public async Task Xsa325_AGuestBreakingTheProtocolKeepsItsDomainUntilItDies(string kind)
    {
        await using XsaHost host = await XsaHost.StartAsync(kind);
        using SimulatedGuest bad = await host.CreateDomainAsync(5);
        await XsaHost.ExpectOkAsync(host.Dom0.WatchAsync("@releaseDomain", "released"));
        Assert.NotNull(await host.Dom0.NextEventAsync());

        bad.Write(RingLayout.RequestProducer, bad.Read(RingLayout.RequestConsumer) + 5000);
        bad.Notify();
        await WaitUntilAsync(() => bad.ErrorField == BadIndexes);
        await host.Dom0.SyncAsync();
        Assert.Empty(host.Dom0.DrainEvents());
        Assert.Equal("T", (await host.Dom0.RequestAsync(XsMessageType.IsDomainIntroduced, RawPayload.Strings("5"))).Text);

        await host.DestroyDomainAsync(5);
        RawMessage? released = await host.Dom0.NextEventAsync();
        Assert.NotNull(released);
        Assert.StartsWith("@releaseDomain", released.Strings[0], StringComparison.Ordinal);
        await host.AssertHealthyAsync();
    }

    internal static Task WaitUntilAsync(Func<bool> condition) => Eventually.TrueAsync(condition, RawConnection.DefaultTimeout);
}
