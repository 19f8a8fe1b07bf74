using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// The daemon is SIGKILLed at random moments while clients write and commit transactions; after a restart on the
/// same state directory every acknowledged write and committed transaction must be there, and no transaction may
/// be half applied. Bounded here; scripts/crash-soak runs it for longer.
/// </summary>
public sealed class CrashRecoveryTests
{
    private const int Writers = 4;

    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("XS_CRASH_ITERATIONS"), CultureInfo.InvariantCulture, out int n) ? n : 6;

    private sealed class WriterState
    {
        public long AckedWrite = -1;
        public long SentWrite = -1;
        public long AckedTransaction = -1;
        public long SentTransaction = -1;
    }

    [Fact]
    public async Task KillAtRandomMoments_LosesNoAcknowledgedWrite()
    {
        string stateDirectory = Directory.CreateTempSubdirectory("xs-state-").FullName;
        var random = new Random(20261124);
        var states = Enumerable.Range(0, Writers).Select(_ => new WriterState()).ToArray();
        long totalAcked = 0;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            // A small snapshot threshold, so that kills also land during and after compactions.
            await using OurDaemon daemon = await OurDaemon.StartAsync("--state-dir", stateDirectory, "--snapshot-after", "20000");
            await VerifyAsync(daemon, states);
            using var stop = new CancellationTokenSource();
            Task<long>[] writers = states.Select((state, i) => WriteUntilKilledAsync(daemon, i, state, stop.Token)).ToArray();
            await Task.Delay(random.Next(150, 600));
            await daemon.KillAsync();
            await stop.CancelAsync();
            foreach (long acked in await Task.WhenAll(writers))
            {
                totalAcked += acked;
            }
        }
        await using (OurDaemon last = await OurDaemon.StartAsync("--state-dir", stateDirectory))
        {
            await VerifyAsync(last, states);
        }
        Assert.True(totalAcked > Iterations * Writers, $"too little work was acknowledged to test anything: {totalAcked}");
        Assert.True(File.Exists(Path.Combine(stateDirectory, "snapshot")), "no snapshot was ever written");
        Directory.Delete(stateDirectory, recursive: true);
    }

    /// <summary>Each writer alternates plain writes and two-key transactions with increasing values.</summary>
    private static async Task<long> WriteUntilKilledAsync(OurDaemon daemon, int writer, WriterState state, CancellationToken stop)
    {
        long acked = 0;
        try
        {
            await using RawConnection client = await RawConnection.ConnectAsync(daemon);
            long sequence = Math.Max(state.SentWrite, state.SentTransaction) + 1;
            while (!stop.IsCancellationRequested)
            {
                sequence++;
                string value = sequence.ToString(CultureInfo.InvariantCulture);
                if (sequence % 3 == 0)
                {
                    state.SentTransaction = sequence;
                    uint tx = await client.StartTransactionIdAsync();
                    await client.WriteAsync($"/crash/t{writer}/a", value, tx);
                    await client.WriteAsync($"/crash/t{writer}/b", value, tx);
                    RawMessage end = await client.TransactionEndAsync(tx, commit: true);
                    if (!end.IsError)
                    {
                        state.AckedTransaction = sequence;
                        acked++;
                    }
                }
                else
                {
                    state.SentWrite = sequence;
                    RawMessage reply = await client.WriteAsync($"/crash/w{writer}", value);
                    if (!reply.IsError)
                    {
                        state.AckedWrite = sequence;
                        acked++;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The daemon was killed under this writer.
        }
        return acked;
    }

    private static async Task VerifyAsync(OurDaemon daemon, WriterState[] states)
    {
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        Assert.Equal("OK", (await client.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
        for (int i = 0; i < states.Length; i++)
        {
            WriterState state = states[i];
            if (state.AckedWrite >= 0)
            {
                long stored = long.Parse((await client.ReadAsync($"/crash/w{i}")).Text, CultureInfo.InvariantCulture);
                Assert.InRange(stored, state.AckedWrite, state.SentWrite);
            }
            if (state.AckedTransaction >= 0)
            {
                string a = (await client.ReadAsync($"/crash/t{i}/a")).Text;
                string b = (await client.ReadAsync($"/crash/t{i}/b")).Text;
                Assert.Equal(a, b);
                Assert.InRange(long.Parse(a, CultureInfo.InvariantCulture), state.AckedTransaction, state.SentTransaction);
            }
        }
    }

    [Fact]
    public async Task TornOrCorruptJournalTail_IsCutOffAndTheRestLoads()
    {
        string stateDirectory = Directory.CreateTempSubdirectory("xs-state-").FullName;
        await using (OurDaemon first = await OurDaemon.StartAsync("--state-dir", stateDirectory))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(first);
            for (int i = 0; i < 20; i++)
            {
                Assert.False((await client.WriteAsync($"/torn/k{i}", $"v{i}")).IsError);
            }
            await first.KillAsync();
        }
        string journal = Path.Combine(stateDirectory, "journal");
        long goodLength = new FileInfo(journal).Length;
        // A torn record: a header that promises more than the file holds.
        await File.AppendAllBytesAsync(journal, [5, 0, 0, 0, 200, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 9, 9]);
        await using (OurDaemon second = await OurDaemon.StartAsync("--state-dir", stateDirectory))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(second);
            Assert.Equal("v19", (await client.ReadAsync("/torn/k19")).Text);
            Assert.Equal(goodLength, new FileInfo(journal).Length);
            Assert.False((await client.WriteAsync("/torn/after", "x")).IsError);
            await second.KillAsync();
        }
        // A corrupted byte inside the last record: that record and everything after it are discarded.
        byte[] bytes = await File.ReadAllBytesAsync(journal);
        bytes[^3] ^= 0xff;
        await File.WriteAllBytesAsync(journal, bytes);
        await using (OurDaemon third = await OurDaemon.StartAsync("--state-dir", stateDirectory))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(third);
            Assert.Equal("v19", (await client.ReadAsync("/torn/k19")).Text);
            Assert.Equal("ENOENT", (await client.ReadAsync("/torn/after")).ErrorName);
            Assert.Equal("OK", (await client.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
        }
        Directory.Delete(stateDirectory, recursive: true);
    }

    [Fact]
    public async Task StateSurvivesRestart_WithPermissionsDomainsAndQuotas()
    {
        string stateDirectory = Directory.CreateTempSubdirectory("xs-state-").FullName;
        await using (OurDaemon first = await OurDaemon.StartAsync("--state-dir", stateDirectory))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(first);
            await client.WriteAsync("/keep/a", "1");
            await client.WriteAsync("/keep/b", "2");
            await client.SetPermsAsync("/keep/a", "n0", "r5");
            await client.RmAsync("/keep/b");
            await client.RequestAsync(XsMessageType.SetQuota, RawPayload.Strings("nodes", "77"));
            await client.RequestAsync(XsMessageType.SetQuota, RawPayload.Strings("9", "watches", "3"));
            await client.RequestAsync(XsMessageType.Introduce, RawPayload.Strings("9", "0", "3"));
            await client.SetPermsAsync("@releaseDomain", "n0", "r9");
            await first.TerminateAsync(TimeSpan.FromSeconds(20));
        }
        await using (OurDaemon second = await OurDaemon.StartAsync("--state-dir", stateDirectory))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(second);
            Assert.Equal("1", (await client.ReadAsync("/keep/a")).Text);
            Assert.Equal(["n0", "r5"], (await client.GetPermsAsync("/keep/a")).Strings);
            Assert.Equal("ENOENT", (await client.ReadAsync("/keep/b")).ErrorName);
            Assert.Equal("77", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("nodes"))).Text);
            Assert.Equal("3", (await client.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("9", "watches"))).Text);
            Assert.Equal("T", (await client.RequestAsync(XsMessageType.IsDomainIntroduced, RawPayload.Strings("9"))).Text);
            Assert.Equal(["n0", "r9"], (await client.GetPermsAsync("@releaseDomain")).Strings);
            Assert.Equal(["a"], (await client.DirectoryAsync("/keep")).Strings);
        }
        Directory.Delete(stateDirectory, recursive: true);
    }

    [Fact]
    public async Task NoPersistence_StartsEmpty()
    {
        string stateDirectory = Directory.CreateTempSubdirectory("xs-state-").FullName;
        await using (OurDaemon first = await OurDaemon.StartAsync("--state-dir", stateDirectory))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(first);
            await client.WriteAsync("/gone", "1");
        }
        await using (OurDaemon second = await OurDaemon.StartAsync("--state-dir", stateDirectory, "--no-persistence"))
        {
            await using RawConnection client = await RawConnection.ConnectAsync(second);
            Assert.Equal("ENOENT", (await client.ReadAsync("/gone")).ErrorName);
        }
        Directory.Delete(stateDirectory, recursive: true);
    }
}
