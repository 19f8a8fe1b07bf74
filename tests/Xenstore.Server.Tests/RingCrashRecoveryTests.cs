using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Journal before reply over guest rings, the way a crash would show it: a guest writes over its ring one request
/// at a time while dom0 pipelines large writes (long batches), and the daemon is SIGKILLed at a random moment. The
/// guest's page outlives the daemon, so every reply the daemon ever wrote into it is visible after the crash; the
/// restarted daemon must hold every write such a reply acknowledged. The guest's watch survives too: after the
/// restart it fires exactly once, then for later changes. Bounded here (XS_CRASH_ITERATIONS sets the rounds;
/// scripts/crash-soak runs the socket variant for longer).
/// </summary>
public sealed class RingCrashRecoveryTests
{
    private static int Rounds =>
        int.TryParse(Environment.GetEnvironmentVariable("XS_CRASH_ITERATIONS"), CultureInfo.InvariantCulture, out int n) ? n : 6;

    [Fact]
    public async Task KillWhileGuestWritesOverItsRing_EveryReplyInThePageSurvivesRestart()
    {
        string directory = Directory.CreateTempSubdirectory("xs-ringcrash-").FullName;
        string stateDirectory = Path.Combine(directory, "state");
        string simulation = Path.Combine(directory, "sim");
        Directory.CreateDirectory(simulation);
        var random = new Random(20261204);
        var acknowledged = new Dictionary<uint, long>();
        long totalAcknowledged = 0;
        // Guests notify through a FIFO; with the daemon dead nobody would read it and a guest's open would block.
        // Holding it open for reading and writing keeps every notification a write that returns.
        FileStream? fifoKeeper = null;
        // The last round's guest, whose watch the next daemon must have brought back.
        SimulatedGuest? previous = null;
        for (int round = 0; round < Rounds; round++)
        {
            // A domain of its own per round: a request the killed daemon had taken from the ring is never answered,
            // so the ring only serves to check the watch afterwards.
            uint domid = (uint)(10 + round);
            SimulatedGuest guest = SimulatedGuest.Create(simulation, domid);
            await using OurDaemon daemon = await OurDaemon.StartAsync("--state-dir", stateDirectory, "--sim-dir", simulation, "--snapshot-after", "200000");
            await VerifyAsync(daemon, acknowledged);
            if (previous is not null)
            {
                await VerifyWatchFiresOnceAsync(daemon, previous);
                previous.Dispose();
            }
            fifoKeeper ??= new FileStream(Path.Combine(simulation, "evt"), FileMode.Open, FileAccess.ReadWrite);
            await IntroduceAsync(daemon, domid);
            Assert.True(guest.Request(XsMessageType.Watch, "data", "seq", "1").IsOk);
            Assert.Equal([("data", "seq")], TakeEvents(guest, 1));
            previous = guest;
            using var killed = new CancellationTokenSource();
            Task<long> guestWriter = Task.Run(() => GuestWritesUntilKilled(guest, killed.Token));
            Task bulk = Dom0PipelinesUntilKilledAsync(daemon, killed.Token);
            await Task.Delay(random.Next(200, 700));
            await daemon.KillAsync();
            await killed.CancelAsync();
            long acked = await guestWriter;
            await bulk;
            if (acked > 0)
            {
                acknowledged[domid] = acked;
                totalAcknowledged += acked;
            }
        }
        await using (OurDaemon last = await OurDaemon.StartAsync("--state-dir", stateDirectory, "--sim-dir", simulation))
        {
            await VerifyAsync(last, acknowledged);
            await VerifyWatchFiresOnceAsync(last, previous!);
            previous!.Dispose();
        }
        await fifoKeeper!.DisposeAsync();
        Assert.True(totalAcknowledged > Rounds, $"too little was acknowledged to test anything: {totalAcknowledged}");
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task KillWithAGuestWatchingAndInATransaction_EachWatchFiresOnce_ThenAsBefore_AndTheCommitAnswersEagain()
    {
        const uint domid = 30;
        string directory = Directory.CreateTempSubdirectory("xs-ringcrash-").FullName;
        string stateDirectory = Path.Combine(directory, "state");
        string simulation = Path.Combine(directory, "sim");
        Directory.CreateDirectory(simulation);
        string[] arguments = ["--state-dir", stateDirectory, "--sim-dir", simulation];
        using SimulatedGuest guest = SimulatedGuest.Create(simulation, domid);
        string data = $"/local/domain/{domid}/data";
        FileStream fifoKeeper;
        uint transaction;
        await using (OurDaemon first = await OurDaemon.StartAsync(arguments))
        {
            fifoKeeper = new FileStream(Path.Combine(simulation, "evt"), FileMode.Open, FileAccess.ReadWrite);
            await IntroduceAsync(first, domid);
            Assert.True(guest.Request(XsMessageType.Watch, "data", "relative").IsOk);
            Assert.True(guest.Request(XsMessageType.Watch, data, "deep", "1").IsOk);
            Assert.Equal([("data", "relative"), (data, "deep")], TakeEvents(guest, 2));
            Assert.True(guest.Request(XsMessageType.Write, RawPayload.Write("data/acked", RawPayload.Bytes("1"))).IsOk);
            Assert.Equal([("data/acked", "relative"), (data + "/acked", "deep")], TakeEvents(guest, 2));
            transaction = guest.Request(XsMessageType.TransactionStart, "").TransactionId;
            Assert.True(guest.Request(XsMessageType.Write, RawPayload.Write("data/in-transaction", RawPayload.Bytes("x")), transaction).IsOk);
            Assert.Empty(guest.PendingEvents);
            // Nothing in flight: the guest waits, as a driver waiting on its watch would.
            await first.KillAsync();
        }

        await using OurDaemon second = await OurDaemon.StartAsync(arguments);
        // The guest's next request is answered after the events the restart fired, which come first on its ring:
        // exactly one per watch, in registration order, then those of the write.
        Assert.True(guest.Request(XsMessageType.Write, RawPayload.Write("data/later", RawPayload.Bytes("2"))).IsOk);
        Assert.Equal([("data", "relative"), (data, "deep"), ("data/later", "relative"), (data + "/later", "deep")], TakeEvents(guest, guest.PendingEvents.Count));
        // The depth is kept: a node two levels below fires the unlimited watch only.
        Assert.True(guest.Request(XsMessageType.Write, RawPayload.Write("data/later/deeper", RawPayload.Bytes("3"))).IsOk);
        Assert.Equal([("data/later/deeper", "relative")], TakeEvents(guest, guest.PendingEvents.Count));
        // A change made by someone else reaches it too.
        await using (RawConnection dom0 = await RawConnection.ConnectAsync(second))
        {
            Assert.False((await dom0.WriteAsync(data + "/from-dom0", "4")).IsError);
        }
        Assert.Equal([("data/from-dom0", "relative"), (data + "/from-dom0", "deep")], TakeEvents(guest, 2));

        // The open transaction is gone: inside it ENOENT, its commit EAGAIN, and the retry goes through.
        Assert.Equal("ENOENT", guest.Request(XsMessageType.Read, RawPayload.Strings("data/acked"), transaction).ErrorName);
        Assert.Equal("EAGAIN", guest.Request(XsMessageType.TransactionEnd, RawPayload.Strings("T"), transaction).ErrorName);
        Assert.Equal("ENOENT", guest.Request(XsMessageType.Read, "data/in-transaction").ErrorName);
        uint retry = guest.Request(XsMessageType.TransactionStart, "").TransactionId;
        Assert.True(guest.Request(XsMessageType.Write, RawPayload.Write("data/in-transaction", RawPayload.Bytes("y")), retry).IsOk);
        Assert.True(guest.Request(XsMessageType.TransactionEnd, RawPayload.Strings("T"), retry).IsOk);
        Assert.Equal("y", guest.Request(XsMessageType.Read, "data/in-transaction").Text);
        Assert.Equal("1", guest.Request(XsMessageType.Read, "data/acked").Text);
        await fifoKeeper.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>dom0, over the socket: the guest's home with a <c>data</c> directory it owns, then INTRODUCE.</summary>
    private static async Task IntroduceAsync(OurDaemon daemon, uint domid)
    {
        await using RawConnection dom0 = await RawConnection.ConnectAsync(daemon);
        string home = $"/local/domain/{domid}";
        Assert.False((await dom0.WriteAsync(home + "/data", "")).IsError);
        Assert.False((await dom0.SetPermsAsync(home + "/data", "n" + domid)).IsError);
        Assert.False((await dom0.RequestAsync(XsMessageType.Introduce,
            RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture), "0", "7"))).IsError);
    }

    /// <summary>The next <paramref name="count"/> watch events (waiting for them), as (path, token).</summary>
    internal static List<(string Path, string Token)> TakeEvents(SimulatedGuest guest, int count)
    {
        var events = new List<(string, string)>();
        for (int i = 0; i < count; i++)
        {
            RawMessage message = guest.NextEvent() ?? throw new TimeoutException($"watch event {i + 1} of {count} did not come");
            events.Add((message.Strings[0], message.Strings[1]));
        }
        return events;
    }

    /// <summary>
    /// Writes 1, 2, 3, … to <c>data/seq</c>, one request at a time; returns the highest value whose reply the page
    /// showed, looking one last time after the kill.
    /// </summary>
    private static long GuestWritesUntilKilled(SimulatedGuest guest, CancellationToken killed)
    {
        long acked = 0;
        for (long value = 1; !killed.IsCancellationRequested; value++)
        {
            uint reqId = guest.Send(XsMessageType.Write, RawPayload.Write("data/seq", RawPayload.Bytes(value.ToString(CultureInfo.InvariantCulture))));
            while (true)
            {
                bool wasKilled = killed.IsCancellationRequested;
                RawMessage? message = guest.TryReceive(TimeSpan.FromMilliseconds(wasKilled ? 50 : 20));
                if (message is { Type: XsMessageType.Write } reply && reply.ReqId == reqId)
                {
                    Assert.False(reply.IsError, reply.ErrorName);
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

    /// <summary>Pipelines batches of 32 writes of 3000 bytes, so the guest's requests share long batches.</summary>
    private static async Task Dom0PipelinesUntilKilledAsync(OurDaemon daemon, CancellationToken killed)
    {
        byte[] value = new byte[3000];
        Array.Fill(value, (byte)'x');
        try
        {
            await using RawConnection dom0 = await RawConnection.ConnectAsync(daemon);
            for (int batch = 0; !killed.IsCancellationRequested; batch++)
            {
                for (int i = 0; i < 32; i++)
                {
                    await dom0.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"/bulk/k{i}", value));
                }
                for (int i = 0; i < 32; i++)
                {
                    await dom0.NextReplyAsync();
                }
            }
        }
        catch (Exception e) when (e is IOException or TimeoutException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The daemon was killed under this writer.
        }
    }

    /// <summary>
    /// After a restart the guest's watch on <c>data</c> (depth 1) fires once, then for a change dom0 makes. The only
    /// other messages allowed are those of the write the guest had in its ring when the daemon died, if the dead
    /// daemon had not taken it yet: its event on <c>data/seq</c> and its reply.
    /// </summary>
    private static async Task VerifyWatchFiresOnceAsync(OurDaemon daemon, SimulatedGuest guest)
    {
        await using (RawConnection dom0 = await RawConnection.ConnectAsync(daemon))
        {
            Assert.False((await dom0.WriteAsync($"/local/domain/{guest.Domid}/data/after", "1")).IsError);
        }
        int fired = 0;
        while (true)
        {
            RawMessage message = guest.TryReceive(RawConnection.DefaultTimeout)
                ?? throw new TimeoutException($"domain {guest.Domid}: no event for data/after ({fired} for the restart)");
            if (message.Type == XsMessageType.Write)
            {
                continue;
            }
            Assert.Equal(XsMessageType.WatchEvent, message.Type);
            Assert.Equal("seq", message.Strings[1]);
            string path = message.Strings[0];
            if (path == "data/after")
            {
                break;
            }
            if (path == "data")
            {
                fired++;
                continue;
            }
            Assert.Equal("data/seq", path);
        }
        Assert.Equal(1, fired);
    }

    private static async Task VerifyAsync(OurDaemon daemon, Dictionary<uint, long> acknowledged)
    {
        await using RawConnection dom0 = await RawConnection.ConnectAsync(daemon);
        foreach ((uint domid, long acked) in acknowledged)
        {
            RawMessage stored = await dom0.ReadAsync($"/local/domain/{domid}/data/seq");
            Assert.False(stored.IsError, $"domain {domid}: acknowledged {acked}, but the node is gone ({stored.ErrorName})");
            Assert.True(long.Parse(stored.Text, CultureInfo.InvariantCulture) >= acked,
                $"domain {domid}: the page showed the reply to write {acked}, the restored store holds {stored.Text}");
        }
    }
}
