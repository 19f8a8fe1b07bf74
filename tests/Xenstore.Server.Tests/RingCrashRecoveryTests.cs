using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Journal before reply over guest rings, the way a crash would show it: a guest writes over its ring one request
/// at a time while dom0 pipelines large writes (long batches), and the daemon is SIGKILLed at a random moment. The
/// guest's page outlives the daemon, so every reply the daemon ever wrote into it is visible after the crash; the
/// restarted daemon must hold every write such a reply acknowledged. Bounded here (XS_CRASH_ITERATIONS sets the
/// rounds; scripts/crash-soak runs the socket variant for longer).
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
        for (int round = 0; round < Rounds; round++)
        {
            // A domain of its own per round: the ring of a domain whose daemon died mid-request is not reused.
            uint domid = (uint)(10 + round);
            using SimulatedGuest guest = SimulatedGuest.Create(simulation, domid);
            await using OurDaemon daemon = await OurDaemon.StartAsync("--state-dir", stateDirectory, "--sim-dir", simulation, "--snapshot-after", "200000");
            await VerifyAsync(daemon, acknowledged);
            fifoKeeper ??= new FileStream(Path.Combine(simulation, "evt"), FileMode.Open, FileAccess.ReadWrite);
            await using (RawConnection dom0 = await RawConnection.ConnectAsync(daemon))
            {
                string home = $"/local/domain/{domid}";
                Assert.False((await dom0.WriteAsync(home + "/data", "")).IsError);
                Assert.False((await dom0.SetPermsAsync(home + "/data", "n" + domid)).IsError);
                Assert.False((await dom0.RequestAsync(XsMessageType.Introduce,
                    RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture), "0", "7"))).IsError);
            }
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
        }
        await fifoKeeper!.DisposeAsync();
        Assert.True(totalAcknowledged > Rounds, $"too little was acknowledged to test anything: {totalAcknowledged}");
        Directory.Delete(directory, recursive: true);
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
