using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Robustness.Tests;

/// <summary>
/// Clients that pipeline large replies and never read them: the daemon must stop reading them (bounded output
/// queue, so bounded memory) and keep answering everyone else. The others' round trips and the daemon's RSS are
/// reported, not asserted (bench/robustness.sh prints them).
/// </summary>
public sealed class SilentReaderTests(ITestOutputHelper output)
{
    private static readonly int SilentClients = int.TryParse(Environment.GetEnvironmentVariable("XS_SILENT_CLIENTS"), out int n) ? n : 4;

    [Fact]
    public async Task ClientsThatNeverReadReplies_DoNotHurtOthers()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection setup = await RawConnection.ConnectAsync(daemon);
        // A directory whose listing is close to the 4096-byte maximum: every request from a silent client costs
        // the daemon ~4 KiB of output.
        for (int i = 0; i < 280; i++)
        {
            await setup.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"/big/child-{i:D5}", "x"u8));
        }
        for (int i = 0; i < 280; i++)
        {
            Assert.False((await setup.NextReplyAsync()).IsError);
        }
        RawMessage listing = await setup.DirectoryAsync("/big");
        Assert.InRange(listing.Payload.Length, 3000, XsConstants.PayloadMax);

        await using var memory = new DaemonMemory(daemon.ProcessId);
        using var stop = new CancellationTokenSource();
        var silent = new List<SilentClient>();
        var floods = new List<Task>();
        byte[] frame = SilentClient.Frame(XsMessageType.Directory, Encoding.ASCII.GetBytes("/big\0"));
        for (int i = 0; i < SilentClients; i++)
        {
            SilentClient client = await SilentClient.ConnectAsync(daemon.SocketPath);
            silent.Add(client);
            floods.Add(Task.Run(() => client.FloodAsync(frame, stop.Token)));
        }
        await Task.Delay(1000); // Let the silent clients fill every queue the daemon has for them.

        var latency = new Latency();
        async Task WorkAsync(int worker)
        {
            await using RawConnection client = await RawConnection.ConnectAsync(daemon);
            for (int i = 0; i < 200; i++)
            {
                string path = $"/good/{worker}/k{i % 10}";
                Assert.Equal("OK", (await latency.MeasureAsync(() => client.WriteAsync(path, $"v{i}"))).Text);
                Assert.Equal($"v{i}", (await latency.MeasureAsync(() => client.ReadAsync(path))).Text);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 2).Select(WorkAsync));
        long[] sent = silent.Select(s => s.BytesSent).ToArray();
        await Task.Delay(500);
        long[] sentLater = silent.Select(s => s.BytesSent).ToArray();

        await stop.CancelAsync();
        foreach (SilentClient client in silent)
        {
            await client.DisposeAsync();
        }
        await Task.WhenAll(floods);

        output.WriteLine(memory.Describe("silent readers"));
        output.WriteLine(latency.Describe("others"));
        output.WriteLine("slowest: " + latency.Slowest(5));
        output.WriteLine("bytes the silent clients got the daemon to accept: " + string.Join(", ", sentLater));
        // Backpressure: each silent client was stopped after a bounded amount of requests (about 1024 outstanding
        // requests plus 4 MiB of replies, plus kernel buffers), and it is stuck, not trickling on.
        foreach (long bytes in sentLater)
        {
            Assert.True(bytes < 8L << 20, $"a silent client got {bytes} bytes of requests accepted");
        }
        Assert.Equal(sent, sentLater);
        Assert.Equal("OK", (await setup.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
    }
}
