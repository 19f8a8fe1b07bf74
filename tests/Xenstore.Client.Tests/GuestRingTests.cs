using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

/// <summary>
/// The client acting as a guest over its shared ring (the simulated hypervisor), against our daemon and, where the
/// behaviour is the same, the reference C xenstored 4.17 and 4.22 (which never notify guests, so the client's
/// polling is used).
/// </summary>
public sealed class GuestRingTests(GuestHosts hosts) : IClassFixture<GuestHosts>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Kinds => DaemonKinds.Data(["ours", .. DaemonKinds.ReferenceC]);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Guest_ReadsItsHomeWithRelativePaths_AndIsDeniedOtherDomains(string kind)
    {
        GuestHost host = await hosts.GetAsync(kind);
        uint domid = await host.CreateDomainAsync();
        uint other = await host.CreateDomainAsync();
        await using XenstoreClient guest = await host.ConnectGuestAsync(domid);

        Assert.Equal(Path.Combine(host.RingDirectory, $"ring.{domid}"), guest.Path);
        Assert.Equal($"guest{domid}", await guest.ReadStringAsync("name"));
        Assert.Equal($"guest{domid}", await guest.ReadStringAsync($"/local/domain/{domid}/name"));
        Assert.Equal($"/local/domain/{domid}", await guest.GetDomainPathAsync(domid));
        await Assert.ThrowsAsync<XenstoreAccessDeniedException>(() => guest.ReadAsync($"/local/domain/{other}/name"));
        await Assert.ThrowsAsync<XenstoreAccessDeniedException>(() => guest.WriteAsync("x", "1"));
        await Assert.ThrowsAsync<XenstoreNotFoundException>(() => guest.ReadAsync("data/missing"));

        await guest.WriteAsync("data/ip", "10.0.0.5");
        Assert.Equal("10.0.0.5", await host.Dom0.ReadStringAsync($"/local/domain/{domid}/data/ip"));
        XsPermission[] perms = await guest.GetPermissionsAsync("data/ip");
        Assert.Equal(new XsPermission(XsAccess.None, domid), Assert.Single(perms));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Guest_WatchReceivesEvents(string kind)
    {
        GuestHost host = await hosts.GetAsync(kind);
        uint domid = await host.CreateDomainAsync();
        await using XenstoreClient guest = await host.ConnectGuestAsync(domid);

        await using XenstoreWatch watch = await guest.WatchAsync("data");
        Assert.Equal("data", (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        await host.Dom0.WriteAsync($"/local/domain/{domid}/data/k", "v");
        Assert.Equal("data/k", (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        await guest.WriteAsync("data/own", "1");
        Assert.Equal("data/own", (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Guest_RunsTransactions(string kind)
    {
        GuestHost host = await hosts.GetAsync(kind);
        uint domid = await host.CreateDomainAsync();
        await using XenstoreClient guest = await host.ConnectGuestAsync(domid);
        await guest.WriteAsync("data/counter", "0");

        for (int i = 0; i < 3; i++)
        {
            await guest.RunTransactionAsync(async (tx, ct) =>
            {
                int n = int.Parse(await tx.ReadStringAsync("data/counter", ct), System.Globalization.CultureInfo.InvariantCulture);
                await tx.WriteAsync("data/counter", (n + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
                return n + 1;
            });
        }
        Assert.Equal("3", await host.Dom0.ReadStringAsync($"/local/domain/{domid}/data/counter"));

        await using (XenstoreTransaction aborted = await guest.BeginTransactionAsync())
        {
            await aborted.WriteAsync("data/counter", "99");
            await aborted.AbortAsync();
        }
        Assert.Equal("3", await guest.ReadStringAsync("data/counter"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Guest_Pipelines100RequestsThroughTheSmallRing(string kind)
    {
        GuestHost host = await hosts.GetAsync(kind);
        uint domid = await host.CreateDomainAsync();
        await using XenstoreClient guest = await host.ConnectGuestAsync(domid);

        // 100 writes of ~100 bytes each: about 14 KiB of requests through a 1 KiB ring, all in flight together.
        string Value(int i) => i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture) + new string('x', 80);
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => guest.WriteAsync($"data/p{i}", Value(i))));
        string[] read = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => guest.ReadStringAsync($"data/p{i}")));
        Assert.Equal(Enumerable.Range(0, 100).Select(Value), read);
        Assert.Equal(100, (await host.Dom0.ListAsync($"/local/domain/{domid}/data")).Length);
        // A 2000-byte value straddles the ring's wrap point in both directions.
        byte[] big = Encoding.ASCII.GetBytes(new string('b', 2000));
        await guest.WriteAsync("data/big", big);
        Assert.Equal(big, await guest.ReadAsync("data/big"));
    }

    [Fact]
    public async Task Guest_ReconnectsOverTheRing_AfterTheDaemonMarksItBroken()
    {
        GuestHost host = await hosts.GetAsync("ours");
        uint domid = await host.CreateDomainAsync();
        await using XenstoreClient guest = await host.ConnectGuestAsync(domid, new XenstoreClientOptions
        {
            RequestTimeout = TimeSpan.FromSeconds(10),
            AutoReconnect = true,
            ReconnectDelayMin = TimeSpan.FromMilliseconds(20),
        });
        await using XenstoreWatch watch = await guest.WatchAsync("data");
        Assert.NotNull(await watch.ReadAsync().AsTask().WaitAsync(s_wait));

        using (SimulatedGuest page = SimulatedGuest.Create(host.RingDirectory, domid))
        {
            Assert.NotEqual(0u, page.ServerFeatures & 1u);
            // Indexes no ring can have: the daemon sets error = RINGIDX and ignores the ring until it is reset.
            page.Write(RingLayout.RequestProducer, page.Read(RingLayout.RequestConsumer) + 5000);
            page.Notify();
            Assert.True(SpinWait.SpinUntil(() => guest.Statistics.Reconnects >= 1, s_wait), "no reconnection");
            Assert.Equal(0u, page.ErrorField);
            Assert.Equal(0u, page.ConnectionField);
        }

        // The watch was registered again (and fires once); requests work on the reset ring.
        Assert.Equal("data", (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        await guest.WriteAsync("data/after", "1");
        Assert.Equal("1", await host.Dom0.ReadStringAsync($"/local/domain/{domid}/data/after"));
        Assert.Equal("data/after", (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        Assert.True(guest.IsConnected);
    }

    [Fact]
    public async Task Guest_WithoutReconnect_FailsWhenTheRingBreaks()
    {
        GuestHost host = await hosts.GetAsync("ours");
        uint domid = await host.CreateDomainAsync();
        await using XenstoreClient guest = await host.ConnectGuestAsync(domid);
        Assert.Equal($"guest{domid}", await guest.ReadStringAsync("name"));
        using (SimulatedGuest page = SimulatedGuest.Create(host.RingDirectory, domid))
        {
            page.Write(RingLayout.RequestProducer, page.Read(RingLayout.RequestConsumer) + 5000);
            page.Notify();
            Assert.True(SpinWait.SpinUntil(() => !guest.IsConnected, s_wait), "the broken ring went unnoticed");
        }
        XenstoreConnectionException e = await Assert.ThrowsAsync<XenstoreConnectionException>(() => guest.ReadAsync("name"));
        Assert.Contains("RINGIDX", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Guest_SuccessiveClientsOfOneRing_StartClean()
    {
        GuestHost host = await hosts.GetAsync("ours");
        uint domid = await host.CreateDomainAsync();
        await using (XenstoreClient first = await host.ConnectGuestAsync(domid))
        {
            // Left registered on purpose: the next client's handshake drops it.
            XenstoreWatch leaked = await first.WatchAsync("data");
            Assert.NotNull(await leaked.ReadAsync().AsTask().WaitAsync(s_wait));
        }
        await host.Dom0.WriteAsync($"/local/domain/{domid}/data/x", "1");
        await using XenstoreClient second = await host.ConnectGuestAsync(domid);
        Assert.Equal("1", await second.ReadStringAsync("data/x"));
        Assert.Equal(0, second.Statistics.UnknownWatchEvents);
    }

    [Fact]
    public async Task Guest_OfAMissingPage_CannotConnect()
    {
        string directory = Directory.CreateTempSubdirectory("xs-sim-none-").FullName;
        try
        {
            XenstoreConnectionException e = await Assert.ThrowsAsync<XenstoreConnectionException>(
                () => XenstoreClient.ConnectSimulatedGuestAsync(directory, 3));
            Assert.IsType<FileNotFoundException>(e.InnerException);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
