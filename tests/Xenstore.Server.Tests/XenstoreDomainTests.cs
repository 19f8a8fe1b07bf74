using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// The daemon as the Xenstore domain (<c>--xenstore-domain</c>) on the simulated hypervisor: no socket, dom0 is a
/// privileged client over its own ring (<c>ring.0</c>) introduced by the daemon itself, domains whose pages exist
/// at start are introduced too (answering the RECONNECT handshake), and journal-before-reply holds over every ring.
/// </summary>
public sealed class XenstoreDomainTests
{
    private static string NewSimulation() => Directory.CreateTempSubdirectory("xs-xsdom-").FullName;

    [Fact]
    public async Task Dom0_IsServedOverItsRingWithFullPrivilege_AndNoSocketExists()
    {
        string simulation = NewSimulation();
        using SimulatedGuest dom0 = SimulatedGuest.Create(simulation, 0);
        await using OurDaemon daemon = await OurDaemon.StartXenstoreDomainAsync(simulation);
        Assert.False(File.Exists(daemon.SocketPath), "the Xenstore domain opened a socket nobody asked for");

        Assert.Equal("OK", dom0.Request(XsMessageType.Write, RawPayload.Write("/tool/probe", RawPayload.Bytes("1"))).Text);
        Assert.Equal("1", dom0.Request(XsMessageType.Read, "/tool/probe").Text);
        Assert.Equal("T", dom0.Request(XsMessageType.IsDomainIntroduced, "0").Text);
        Assert.Equal(["n0"], dom0.Request(XsMessageType.GetPerms, "/tool/probe").Strings);

        // The toolstack's steps, over dom0's ring, then the guest over its own.
        using SimulatedGuest guest = SimulatedGuest.Create(simulation, 5);
        Assert.Equal("OK", dom0.Request(XsMessageType.Write, RawPayload.Write("/local/domain/5/name", RawPayload.Bytes("guest5"))).Text);
        Assert.Equal("OK", dom0.Request(XsMessageType.SetPerms, "/local/domain/5", "n0", "r5").Text);
        Assert.Equal("OK", dom0.Request(XsMessageType.SetPerms, "/local/domain/5/name", "n0", "r5").Text);
        Assert.Equal("OK", dom0.Request(XsMessageType.Introduce, "5", "0", "7").Text);
        Assert.Equal("guest5", guest.Request(XsMessageType.Read, "name").Text);
        Assert.Equal("EACCES", guest.Request(XsMessageType.Read, "/tool/probe").ErrorName);
        Directory.Delete(simulation, recursive: true);
    }

    [Fact]
    public async Task Dom0_IsServedOverItsRingThroughTheXenLibraries()
    {
        // Our real-Xen code (grant mapping of the reserved grant, the --event port) with refxs's stand-ins for the
        // Xen libraries, which map ring.N of a directory and bind port 100+N.
        const string shim = "/tmp/refxs/fakexen.so";
        if (!ReferenceDaemon.Available || !File.Exists(shim))
        {
            Assert.Skip("the Xen library stand-ins of ../shared/refxs are not set up");
        }
        string rings = NewSimulation();
        string fifo = Path.Combine(rings, "evt");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
        }
        using SimulatedGuest dom0 = SimulatedGuest.Create(rings, 0);
        await using OurDaemon daemon = await OurDaemon.StartXenstoreDomainWithEnvironmentAsync(
            new Dictionary<string, string> { ["LD_PRELOAD"] = shim, ["FAKEXEN_RING_DIR"] = rings, ["FAKEXEN_EVT_FIFO"] = fifo },
            "--hypervisor", "xen", "--event", "9");
        Assert.Equal("OK", dom0.Request(XsMessageType.Write, RawPayload.Write("/tool/xen", RawPayload.Bytes("1"))).Text);
        Assert.Equal("1", dom0.Request(XsMessageType.Read, "/tool/xen").Text);
        Directory.Delete(rings, recursive: true);
    }

    [Fact]
    public async Task DomainsThatExistAtStart_AreIntroduced_AndTheirReconnectRequestIsAnswered()
    {
        string simulation = NewSimulation();
        using SimulatedGuest dom0 = SimulatedGuest.Create(simulation, 0);
        using SimulatedGuest early = SimulatedGuest.Create(simulation, 7);
        // A dom0less-style domain: its page waits for Xenstore with connection = RECONNECT.
        early.Write(RingLayout.Connection, 1);
        await using OurDaemon daemon = await OurDaemon.StartXenstoreDomainAsync(simulation);

        Assert.Equal("T", dom0.Request(XsMessageType.IsDomainIntroduced, "7").Text);
        var deadline = DateTime.UtcNow + RawConnection.DefaultTimeout;
        while (early.ConnectionField != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
        Assert.Equal(0u, early.ConnectionField);
        Assert.Equal("/local/domain/7", early.Request(XsMessageType.GetDomainPath, "7").Text);
        Assert.Equal("F", dom0.Request(XsMessageType.IsDomainIntroduced, "8").Text);
        Directory.Delete(simulation, recursive: true);
    }

    [Fact]
    public async Task Restart_ServesDom0AgainFromItsState()
    {
        string simulation = NewSimulation();
        string state = Path.Combine(simulation, "state");
        using SimulatedGuest dom0 = SimulatedGuest.Create(simulation, 0);
        await using (OurDaemon first = await OurDaemon.StartXenstoreDomainAsync(simulation, "--state-dir", state))
        {
            Assert.Equal("OK", dom0.Request(XsMessageType.Write, RawPayload.Write("/kept", RawPayload.Bytes("yes"))).Text);
            await first.KillAsync();
        }
        await using OurDaemon second = await OurDaemon.StartXenstoreDomainAsync(simulation, "--state-dir", state);
        Assert.Equal("yes", dom0.Request(XsMessageType.Read, "/kept").Text);
        Directory.Delete(simulation, recursive: true);
    }

    [Fact]
    public async Task Kill_Dom0sWatchesOverItsRingFireOnceAfterTheRestart_AndItsOpenTransactionAnswersEagain()
    {
        string simulation = NewSimulation();
        string state = Path.Combine(simulation, "state");
        using SimulatedGuest dom0 = SimulatedGuest.Create(simulation, 0);
        FileStream fifoKeeper;
        uint transaction;
        await using (OurDaemon first = await OurDaemon.StartXenstoreDomainAsync(simulation, "--state-dir", state))
        {
            // dom0's reads notify through the FIFO: keep it open both ways while no daemon reads it.
            fifoKeeper = new FileStream(Path.Combine(simulation, "evt"), FileMode.Open, FileAccess.ReadWrite);
            Assert.True(dom0.Request(XsMessageType.Watch, "/tool/watched", "tool", "1").IsOk);
            Assert.True(dom0.Request(XsMessageType.Watch, "@introduceDomain", "introduced").IsOk);
            Assert.Equal([("/tool/watched", "tool"), ("@introduceDomain", "introduced")], RingCrashRecoveryTests.TakeEvents(dom0, 2));
            Assert.True(dom0.Request(XsMessageType.Write, RawPayload.Write("/tool/watched/a", RawPayload.Bytes("1"))).IsOk);
            Assert.Equal([("/tool/watched/a", "tool")], RingCrashRecoveryTests.TakeEvents(dom0, 1));
            transaction = dom0.Request(XsMessageType.TransactionStart, "").TransactionId;
            Assert.True(dom0.Request(XsMessageType.Write, RawPayload.Write("/tool/watched/b", RawPayload.Bytes("x")), transaction).IsOk);
            await first.KillAsync();
        }

        await using OurDaemon second = await OurDaemon.StartXenstoreDomainAsync(simulation, "--state-dir", state);
        // No reconnection: dom0 goes on over its ring. The restart's events come before the reply to its next write.
        Assert.True(dom0.Request(XsMessageType.Write, RawPayload.Write("/tool/watched/c", RawPayload.Bytes("2"))).IsOk);
        Assert.Equal([("/tool/watched", "tool"), ("@introduceDomain", "introduced"), ("/tool/watched/c", "tool")],
            RingCrashRecoveryTests.TakeEvents(dom0, dom0.PendingEvents.Count));
        // The depth is kept, and the special path fires for an introduction.
        using SimulatedGuest guest = SimulatedGuest.Create(simulation, 6);
        Assert.True(dom0.Request(XsMessageType.Write, RawPayload.Write("/tool/watched/c/deeper", RawPayload.Bytes("3"))).IsOk);
        Assert.True(dom0.Request(XsMessageType.Introduce, "6", "0", "7").IsOk);
        Assert.Equal([("@introduceDomain", "introduced")], RingCrashRecoveryTests.TakeEvents(dom0, dom0.PendingEvents.Count));

        Assert.Equal("EAGAIN", dom0.Request(XsMessageType.TransactionEnd, RawPayload.Strings("T"), transaction).ErrorName);
        Assert.Equal("ENOENT", dom0.Request(XsMessageType.Read, "/tool/watched/b").ErrorName);
        Assert.Equal("1", dom0.Request(XsMessageType.Read, "/tool/watched/a").Text);
        await fifoKeeper.DisposeAsync();
        Directory.Delete(simulation, recursive: true);
    }

    [Fact]
    public async Task KillWhileDom0AndAGuestWriteOverTheirRings_EveryReplyInAPageSurvivesRestart()
    {
        string simulation = NewSimulation();
        string state = Path.Combine(simulation, "state");
        var acknowledged = new Dictionary<uint, long>();
        var random = new Random(20261204);
        FileStream? fifoKeeper = null;
        for (int round = 0; round < 4; round++)
        {
            uint guestDomid = (uint)(20 + round);
            using SimulatedGuest dom0 = SimulatedGuest.Create(simulation, 0);
            using SimulatedGuest guest = SimulatedGuest.Create(simulation, guestDomid);
            await using OurDaemon daemon = await OurDaemon.StartXenstoreDomainAsync(simulation, "--state-dir", state);
            // Guests notify through a FIFO that nobody reads once the daemon is dead: keep it open both ways.
            fifoKeeper ??= new FileStream(Path.Combine(simulation, "evt"), FileMode.Open, FileAccess.ReadWrite);
            // The last daemon died with a request of dom0's in the ring: start over on a reset ring, as xenbus would.
            Assert.True(dom0.Reconnect());
            Verify(dom0, acknowledged);
            string home = $"/local/domain/{guestDomid}";
            Assert.Equal("OK", dom0.Request(XsMessageType.Write, RawPayload.Write(home + "/data/seq", RawPayload.Bytes("0"))).Text);
            Assert.Equal("OK", dom0.Request(XsMessageType.SetPerms, home + "/data", "n" + guestDomid).Text);
            Assert.Equal("OK", dom0.Request(XsMessageType.SetPerms, home + "/data/seq", "n" + guestDomid).Text);
            Assert.Equal("OK", dom0.Request(XsMessageType.Introduce, guestDomid.ToString(CultureInfo.InvariantCulture), "0", "7").Text);
            using var killed = new CancellationTokenSource();
            Task<long> dom0Writer = Task.Run(() => WriteUntilKilled(dom0, "/dom0/seq", killed.Token));
            Task<long> guestWriter = Task.Run(() => WriteUntilKilled(guest, "data/seq", killed.Token));
            await Task.Delay(random.Next(150, 500));
            await daemon.KillAsync();
            await killed.CancelAsync();
            acknowledged[0] = Math.Max(acknowledged.GetValueOrDefault(0u), await dom0Writer);
            acknowledged[guestDomid] = await guestWriter;
            Assert.True(acknowledged[0] > 0 && acknowledged[guestDomid] > 0, "a writer was never answered");
        }
        using (SimulatedGuest dom0 = SimulatedGuest.Create(simulation, 0))
        {
            await using OurDaemon last = await OurDaemon.StartXenstoreDomainAsync(simulation, "--state-dir", state);
            Assert.True(dom0.Reconnect());
            Verify(dom0, acknowledged);
        }
        await fifoKeeper!.DisposeAsync();
        Directory.Delete(simulation, recursive: true);
    }

    /// <summary>Writes increasing values one request at a time; returns the highest whose reply the page showed.</summary>
    private static long WriteUntilKilled(SimulatedGuest ring, string path, CancellationToken killed)
    {
        long acked = 0;
        long value = ring.Domid == 0 ? NextDom0Value() : 0;
        while (!killed.IsCancellationRequested)
        {
            value++;
            uint reqId = ring.Send(XsMessageType.Write, RawPayload.Write(path, RawPayload.Bytes(value.ToString(CultureInfo.InvariantCulture))));
            while (true)
            {
                bool wasKilled = killed.IsCancellationRequested;
                RawMessage? message = ring.TryReceive(TimeSpan.FromMilliseconds(wasKilled ? 50 : 20));
                if (message is { Type: XsMessageType.Write } reply && reply.ReqId == reqId)
                {
                    acked = value;
                    break;
                }
                if (message is null && wasKilled)
                {
                    return acked;
                }
            }
        }
        return acked;
    }

    private static long s_dom0Base;

    /// <summary>Dom0 writes one node across rounds: each round starts above everything written before.</summary>
    private static long NextDom0Value() => Interlocked.Add(ref s_dom0Base, 1_000_000);

    private static void Verify(SimulatedGuest dom0, Dictionary<uint, long> acknowledged)
    {
        foreach ((uint domid, long acked) in acknowledged)
        {
            string path = domid == 0 ? "/dom0/seq" : $"/local/domain/{domid}/data/seq";
            RawMessage stored = dom0.Request(XsMessageType.Read, path);
            Assert.False(stored.IsError, $"{path}: acknowledged {acked}, but the node is gone ({stored.ErrorName})");
            Assert.True(long.Parse(stored.Text, CultureInfo.InvariantCulture) >= acked,
                $"{path}: a ring showed the reply to write {acked}, the restored store holds {stored.Text}");
        }
    }
}
