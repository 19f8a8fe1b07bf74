using System.Buffers.Binary;
using System.Net.Sockets;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Robustness.Tests;

/// <summary>
/// Many connections sending garbage (random bytes, oversized lengths, valid types with random payloads, torn
/// frames) while a good client works: its data and watch stay intact, it is answered throughout, every garbage
/// connection is closed. The good client's round trips and the daemon's RSS are reported, not asserted
/// (bench/robustness.sh prints them).
/// </summary>
public sealed class MalformedFloodTests(ITestOutputHelper output)
{
    private const int Attackers = 8;

    [Fact]
    public async Task GarbageFromManyConnections_LeavesAGoodClientIntact()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using RawConnection good = await RawConnection.ConnectAsync(daemon);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("OK", (await good.WriteAsync($"/robust/good/k{i}", $"value-{i}")).Text);
        }
        Assert.Equal("OK", (await good.WatchAsync("/robust/good", "mine")).Text);
        Assert.NotNull(await good.NextEventAsync());
        int socketsBefore = DaemonMemory.OpenSockets(daemon.ProcessId);
        await using var memory = new DaemonMemory(daemon.ProcessId);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        long connections = 0;
        long bytes = 0;
        Task[] attackers = Enumerable.Range(0, Attackers).Select(seed => Task.Run(async () =>
        {
            var random = new Random(seed);
            while (!stop.IsCancellationRequested)
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(daemon.SocketPath), stop.Token);
                    Interlocked.Increment(ref connections);
                    for (int burst = 0; burst < 20 && !stop.IsCancellationRequested; burst++)
                    {
                        byte[] junk = Garbage(random);
                        await socket.SendAsync(junk, SocketFlags.None, stop.Token);
                        Interlocked.Add(ref bytes, junk.Length);
                    }
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    // The daemon closed a connection that broke the protocol, or the time is up.
                }
                // Leave the test's share of the two cores to the daemon: the point is hostile input, not CPU theft.
                await Task.Delay(1);
            }
        })).ToArray();

        var latency = new Latency();
        int rounds = 0;
        while (!stop.IsCancellationRequested)
        {
            int i = rounds++ % 10;
            Assert.Equal($"value-{i}", (await latency.MeasureAsync(() => good.ReadAsync($"/robust/good/k{i}"))).Text);
        }
        await Task.WhenAll(attackers);

        output.WriteLine($"attackers: {connections} connections, {bytes / 1024} KiB of garbage");
        output.WriteLine(latency.Describe("good client") + "; slowest " + latency.Slowest(3));
        output.WriteLine(memory.Describe("malformed flood"));
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal($"value-{i}", (await good.ReadAsync($"/robust/good/k{i}")).Text);
        }
        good.DrainEvents();
        await using (RawConnection other = await RawConnection.ConnectAsync(daemon))
        {
            Assert.Equal("OK", (await other.WriteAsync("/robust/good/k0", "changed")).Text);
        }
        RawMessage? evt = await good.NextEventAsync();
        Assert.NotNull(evt);
        Assert.Equal(["/robust/good/k0", "mine"], evt!.Strings);
        Assert.Equal("OK", (await good.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
        Assert.True(connections > Attackers, $"the attackers made only {connections} connections");

        // Every garbage connection is eventually closed: no socket leak.
        int socketsAfter = int.MaxValue;
        for (int wait = 0; wait < 100 && socketsAfter > socketsBefore + 2; wait++)
        {
            await Task.Delay(50);
            socketsAfter = DaemonMemory.OpenSockets(daemon.ProcessId);
        }
        output.WriteLine($"daemon sockets: {socketsBefore} before, {socketsAfter} after");
        Assert.True(socketsAfter <= socketsBefore + 2, $"daemon sockets: {socketsBefore} before, {socketsAfter} after");
    }

    private static byte[] Garbage(Random random)
    {
        switch (random.Next(4))
        {
            case 0:
            {
                var bytes = new byte[random.Next(1, 4096)];
                random.NextBytes(bytes);
                return bytes;
            }
            case 1:
            {
                // An oversized or "negative" length: the daemon must close the connection, not wait or allocate.
                var header = new byte[XsConstants.HeaderSize];
                new XsHeader((XsMessageType)random.Next(27), (uint)random.Next(), 0, (uint)random.NextInt64(XsConstants.PayloadMax + 1, uint.MaxValue + 1L)).Write(header);
                return header;
            }
            case 2:
            {
                // A valid type with a random payload (well framed).
                var payload = new byte[random.Next(0, 300)];
                random.NextBytes(payload);
                var frame = new byte[XsConstants.HeaderSize + payload.Length];
                FrameParser.Write(frame, (XsMessageType)random.Next(28), (uint)random.Next(), (uint)random.Next(4), payload);
                return frame;
            }
            default:
            {
                // A torn frame: the header promises more than is sent.
                var frame = new byte[XsConstants.HeaderSize + 10];
                BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)XsMessageType.Write);
                BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(12), (uint)random.Next(100, XsConstants.PayloadMax));
                return frame;
            }
        }
    }
}
