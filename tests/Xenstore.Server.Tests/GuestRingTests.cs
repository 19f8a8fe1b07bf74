using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Guests over real shared rings (the simulated hypervisor), against our daemon and, where the behaviour is the
/// same in C xenstored, against both reference C daemons too (refxs and refxs-new with REFXS_RINGS=1).
/// </summary>
public sealed partial class GuestRingTests
{
    /// <summary>
    /// "ours" uses the simulated hypervisor in our daemon's process; "embedded" the same in the test's process; "ours-xen" runs our real-Xen code (P/Invoke to libxenevtchn,
    /// libxengnttab, libxenctrl) with refxs's stand-ins for those libraries preloaded; "c" is C xenstored 4.17 and
    /// "c422" C xenstored 4.22.
    /// </summary>
    public static TheoryData<string> Kinds => DaemonKinds.Data(["embedded", "ours", "ours-xen", .. DaemonKinds.ReferenceC]);

    private sealed class Host : IAsyncDisposable
    {
        private readonly List<SimulatedGuest> _guests = [];

        public required IDaemonUnderTest Daemon { get; init; }

        public required string RingDirectory { get; init; }

        public required RawConnection Dom0 { get; init; }

        public bool IsOurs => Daemon.Kind is "embedded" || Daemon.Kind.StartsWith("ours", StringComparison.Ordinal);

        public static async Task<Host> StartAsync(string kind, params string[] extraArgs)
        {
            IDaemonUnderTest daemon;
            string ringDirectory;
            if (kind == "embedded")
            {
                ringDirectory = Directory.CreateTempSubdirectory("xs-sim-").FullName;
                string simulation = ringDirectory;
                Assert.Empty(extraArgs);
                daemon = await EmbeddedDaemon.StartAsync(options => options with
                {
                    Hypervisor = HypervisorKind.Simulated,
                    SimulationDirectory = simulation,
                });
            }
            else if (kind == "ours")
            {
                ringDirectory = Directory.CreateTempSubdirectory("xs-sim-").FullName;
                daemon = await OurDaemon.StartAsync(["--sim-dir", ringDirectory, .. extraArgs]);
            }
            else if (kind == "ours-xen")
            {
                const string shim = "/tmp/refxs/fakexen.so";
                if (!ReferenceDaemon.Available || !File.Exists(shim))
                {
                    Assert.Skip("the Xen library stand-ins of ../shared/refxs are not set up");
                }
                ringDirectory = Directory.CreateTempSubdirectory("xs-xen-").FullName;
                string fifo = Path.Combine(ringDirectory, "evt");
                using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
                {
                    await mkfifo.WaitForExitAsync();
                }
                daemon = await OurDaemon.StartWithEnvironmentAsync(
                    new Dictionary<string, string>
                    {
                        ["LD_PRELOAD"] = shim,
                        ["FAKEXEN_RING_DIR"] = ringDirectory,
                        ["FAKEXEN_EVT_FIFO"] = fifo,
                    },
                    ["--hypervisor", "xen", .. extraArgs]);
            }
            else
            {
                var reference = await ReferenceDaemon.StartOrSkipAsync(kind, rings: true, extraArgs);
                daemon = reference;
                ringDirectory = Path.Combine(reference.Home, "rings");
            }
            return new Host { Daemon = daemon, RingDirectory = ringDirectory, Dom0 = await RawConnection.ConnectAsync(daemon) };
        }

        /// <summary>What a toolstack does: home dir readable by the guest, a guest-owned data dir, INTRODUCE.</summary>
        public async Task<SimulatedGuest> CreateDomainAsync(uint domid)
        {
            SimulatedGuest guest = SimulatedGuest.Create(RingDirectory, domid);
            _guests.Add(guest);
            string home = $"/local/domain/{domid}";
            Assert.False((await Dom0.WriteAsync(home + "/name", $"guest{domid}")).IsError);
            Assert.False((await Dom0.SetPermsAsync(home, "n0", $"r{domid}")).IsError);
            Assert.False((await Dom0.SetPermsAsync(home + "/name", "n0", $"r{domid}")).IsError);
            Assert.False((await Dom0.MkdirAsync(home + "/data")).IsError);
            Assert.False((await Dom0.SetPermsAsync(home + "/data", $"n{domid}")).IsError);
            RawMessage introduced = await Dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings(domid.ToString(System.Globalization.CultureInfo.InvariantCulture), "0", "7"));
            Assert.Equal("OK", introduced.Text);
            return guest;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (SimulatedGuest guest in _guests)
            {
                guest.Dispose();
            }
            await Dom0.DisposeAsync();
            await Daemon.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Guest_ReadsWritesAndIsHeldToPermissions(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        await host.CreateDomainAsync(6);

        Assert.Equal("guest5", guest.Request(XsMessageType.Read, "name").Text);
        Assert.Equal("guest5", guest.Request(XsMessageType.Read, "/local/domain/5/name").Text);
        Assert.Equal("/local/domain/5", guest.Request(XsMessageType.GetDomainPath, "5").Text);
        // The home is read-only for the guest; its data directory is its own.
        Assert.Equal("EACCES", guest.Request(XsMessageType.Write, RawPayload.Write("x", Encoding.ASCII.GetBytes("1"))).ErrorName);
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write("data/ip", Encoding.ASCII.GetBytes("10.0.0.5"))).Text);
        Assert.Equal("10.0.0.5", (await host.Dom0.ReadAsync("/local/domain/5/data/ip")).Text);
        Assert.Equal(["n5"], guest.Request(XsMessageType.GetPerms, "data/ip").Strings);
        // Existence hiding: another domain's missing node is EACCES, a missing node in a readable place ENOENT.
        Assert.Equal("EACCES", guest.Request(XsMessageType.Read, "/local/domain/6/name").ErrorName);
        Assert.Equal("EACCES", guest.Request(XsMessageType.Read, "/local/domain/6/nonexistent").ErrorName);
        Assert.Equal("ENOENT", guest.Request(XsMessageType.Read, "data/nonexistent").ErrorName);
        // Privileged operations.
        Assert.Equal("EACCES", guest.Request(XsMessageType.IsDomainIntroduced, "5").ErrorName);
        Assert.Equal("EACCES", guest.Request(XsMessageType.Introduce, "9", "0", "1").ErrorName);
        // An unprivileged owner change.
        Assert.Equal("EPERM", guest.Request(XsMessageType.SetPerms, RawPayload.Strings("data/ip", "n0")).ErrorName);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Guest_WatchEventsAreFilteredByPermission(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "/local/domain", "all").Text);
        Assert.Equal(["/local/domain", "all"], guest.NextEvent()!.Strings);
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "data", "rel").Text);
        Assert.Equal(["data", "rel"], guest.NextEvent()!.Strings);

        await host.Dom0.WriteAsync("/local/domain/7/secret", "s");
        await host.Dom0.WriteAsync("/local/domain/5/data/k", "v");
        RawMessage? first = guest.NextEvent();
        RawMessage? second = guest.NextEvent();
        var events = new[] { first, second }.Where(e => e is not null).Select(e => string.Join("|", e!.Strings)).Order().ToList();
        Assert.Equal(["/local/domain/5/data/k|all", "data/k|rel"], events);
        Assert.Null(guest.NextEvent(TimeSpan.FromMilliseconds(300)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Release_RemovesOwnedNodesAndFiresReleaseDomain(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write("data/k", Encoding.ASCII.GetBytes("v"))).Text);
        await host.Dom0.WatchAsync("@releaseDomain", "rel");
        Assert.Equal("@releaseDomain", (await host.Dom0.NextEventAsync())!.Strings[0]);

        Assert.Equal("OK", (await host.Dom0.RequestAsync(XsMessageType.Release, RawPayload.Strings("5"))).Text);
        RawMessage? released = await host.Dom0.NextEventAsync();
        Assert.NotNull(released);
        Assert.Equal("F", (await host.Dom0.RequestAsync(XsMessageType.IsDomainIntroduced, RawPayload.Strings("5"))).Text);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data")).ErrorName);
        Assert.Equal("guest5", (await host.Dom0.ReadAsync("/local/domain/5/name")).Text);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task DyingDomain_IsCleanedUpOnDomainException(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        Assert.Equal("OK", guest.Request(XsMessageType.Write, RawPayload.Write("data/k", Encoding.ASCII.GetBytes("v"))).Text);
        await host.Dom0.WatchAsync("@releaseDomain", "rel");
        await host.Dom0.NextEventAsync();
        File.WriteAllText(Path.Combine(host.RingDirectory, "dying.5"), "");
        using (var fifo = new FileStream(Path.Combine(host.RingDirectory, "evt"), FileMode.Open, FileAccess.Write))
        {
            fifo.Write(BitConverter.GetBytes(1u));
        }
        Assert.NotNull(await host.Dom0.NextEventAsync());
        Assert.Equal("F", (await host.Dom0.RequestAsync(XsMessageType.IsDomainIntroduced, RawPayload.Strings("5"))).Text);
        Assert.Equal("ENOENT", (await host.Dom0.ReadAsync("/local/domain/5/data")).ErrorName);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task HostileIndexes_SetErrorAndSpareEveryoneElse(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        using SimulatedGuest bad = await host.CreateDomainAsync(5);
        using SimulatedGuest good = await host.CreateDomainAsync(6);
        Assert.Equal("guest5", bad.Request(XsMessageType.Read, "name").Text);
        bad.Write(RingLayout.RequestProducer, bad.Read(RingLayout.RequestConsumer) + 5000);
        bad.Notify();
        await WaitUntilAsync(() => bad.ErrorField == 2);
        Assert.Equal("guest6", good.Request(XsMessageType.Read, "name").Text);
        Assert.Equal("guest5", (await host.Dom0.ReadAsync("/local/domain/5/name")).Text);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task OversizedPacket_SetsProtocolErrorAndSparesEveryoneElse(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        using SimulatedGuest bad = await host.CreateDomainAsync(5);
        using SimulatedGuest good = await host.CreateDomainAsync(6);
        var header = new byte[16];
        new XsHeader(XsMessageType.Write, 1, 0, 5000).Write(header);
        bad.SendRaw(header);
        await WaitUntilAsync(() => bad.ErrorField == 3);
        Assert.Equal("guest6", good.Request(XsMessageType.Read, "name").Text);
    }

    /// <summary>
    /// The default watch quota (128) at its edge. C 4.17 lets a 129th watch in and refuses the 130th with E2BIG;
    /// C 4.22 refuses the 128th with ENOSPC (it counts <c>current + 1 &gt;= limit</c>); ours admits exactly 128 and
    /// refuses the 129th with ENOSPC (every quota is an inclusive maximum, docs/COMPATIBILITY.md).
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task WatchQuota_EdgeIsEachDaemonsOwn(string kind)
    {
        (int admitted, string error) = kind switch
        {
            "c" => (129, "E2BIG"),
            "c422" => (127, "ENOSPC"),
            _ => (128, "ENOSPC"),
        };
        await using Host host = await Host.StartAsync(kind);
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        for (int i = 0; i < admitted; i++)
        {
            Assert.Equal("OK", guest.Request(XsMessageType.Watch, "data", "w" + i).Text);
        }
        Assert.Equal(error, guest.Request(XsMessageType.Watch, "data", "over").ErrorName);
    }

    [Fact]
    public async Task Features_AreAdvertisedAndReconnectionResetsTheRing()
    {
        await using Host host = await Host.StartAsync("embedded");
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        Assert.Equal(15u, guest.ServerFeatures);
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "data", "w").Text);
        Assert.NotNull(guest.NextEvent());
        Assert.True(guest.Reconnect());
        Assert.Equal(0u, guest.Read(RingLayout.RequestProducer));
        // The reconnected guest has no watch left, and requests work again.
        await host.Dom0.WriteAsync("/local/domain/5/data/after", "1");
        Assert.Equal("1", guest.Request(XsMessageType.Read, "data/after").Text);
        Assert.Empty(guest.PendingEvents);
        Assert.Null(guest.NextEvent(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task ReconnectAfterProtocolError_RestoresService()
    {
        await using Host host = await Host.StartAsync("embedded");
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        var header = new byte[16];
        new XsHeader(XsMessageType.Write, 1, 0, 5000).Write(header);
        guest.SendRaw(header);
        await WaitUntilAsync(() => guest.ErrorField == 3);
        Assert.True(guest.Reconnect());
        Assert.Equal(0u, guest.ErrorField);
        Assert.Equal("guest5", guest.Request(XsMessageType.Read, "name").Text);
    }

    [Fact]
    public async Task PerDomainQuota_IsHitExactlyAtItsLimit()
    {
        await using Host host = await Host.StartAsync("embedded");
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        Assert.Equal("OK", (await host.Dom0.RequestAsync(XsMessageType.SetQuota, RawPayload.Strings("5", "watches", "2"))).Text);
        Assert.Equal("2", (await host.Dom0.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("5", "watches"))).Text);
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "data", "a").Text);
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "data", "b").Text);
        Assert.Equal("ENOSPC", guest.Request(XsMessageType.Watch, "data", "c").ErrorName);
    }

    [Fact]
    public async Task SetTarget_LetsAStubDomainActForItsGuest()
    {
        await using Host host = await Host.StartAsync("embedded");
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        using SimulatedGuest stub = await host.CreateDomainAsync(6);
        await host.Dom0.WriteAsync("/local/domain/5/data/secret", "s");
        Assert.Equal("EACCES", stub.Request(XsMessageType.Read, "/local/domain/5/data/secret").ErrorName);
        Assert.Equal("OK", (await host.Dom0.RequestAsync(XsMessageType.SetTarget, RawPayload.Strings("6", "5"))).Text);
        Assert.Equal("s", stub.Request(XsMessageType.Read, "/local/domain/5/data/secret").Text);
        Assert.Equal("EACCES", stub.Request(XsMessageType.IsDomainIntroduced, "5").ErrorName);
    }

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.TrueAsync(condition, TimeSpan.FromSeconds(10));
}
