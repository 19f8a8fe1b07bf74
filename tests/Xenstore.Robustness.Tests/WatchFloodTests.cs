using System.Net.Sockets;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Robustness.Tests;

/// <summary>
/// A watcher on <c>/</c> that never reads while a writer makes 100k changes: the watcher's event queue is bounded
/// (events beyond the limit are dropped, so the daemon's memory for it is bounded too), and the writer and a reader
/// are answered throughout. The writer's rate, the reader's round trips and the daemon's RSS are reported, not
/// asserted (bench/robustness.sh prints them).
/// </summary>
public sealed class WatchFloodTests(ITestOutputHelper output)
{
    private const int Writes = 100_000;
    private const int Window = 64;

    /// <summary>The daemon's default limit of watch events queued for a socket connection (ServerOptions).</summary>
    private const int SocketEventLimit = 65536;

    /// <summary>The smallest event of the flood: header, <c>/flood/nN</c> and the token, each NUL-terminated.</summary>
    private const int SmallestEvent = XsConstants.HeaderSize + 16;

    [Fact]
    public async Task WatcherThatNeverReads_HasItsEventsBoundedWhileOthersAreServed()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        await using SilentClient watcher = await SilentClient.ConnectAsync(daemon.SocketPath);
        await watcher.SendAsync(SilentClient.Frame(XsMessageType.Watch, Encoding.ASCII.GetBytes("/\0flood\0"), reqId: 7));
        await using RawConnection writer = await RawConnection.ConnectAsync(daemon);
        await using RawConnection reader = await RawConnection.ConnectAsync(daemon);
        Assert.False((await writer.WriteAsync("/quiet/key", "steady")).IsError);

        await using var memory = new DaemonMemory(daemon.ProcessId);
        var readerLatency = new Latency();
        using var stop = new CancellationTokenSource();
        Task reading = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Assert.Equal("steady", (await readerLatency.MeasureAsync(() => reader.ReadAsync("/quiet/key"))).Text);
                await Task.Delay(5);
            }
        });

        var started = System.Diagnostics.Stopwatch.StartNew();
        int inFlight = 0;
        int errors = 0;
        for (int i = 0; i < Writes; i++)
        {
            await writer.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"/flood/n{i % 500}", Encoding.ASCII.GetBytes($"value-{i}")));
            if (++inFlight == Window)
            {
                errors += (await writer.NextReplyAsync()).IsError ? 1 : 0;
                inFlight--;
            }
        }
        while (inFlight-- > 0)
        {
            errors += (await writer.NextReplyAsync()).IsError ? 1 : 0;
        }
        TimeSpan elapsed = started.Elapsed;
        await stop.CancelAsync();
        await reading;

        output.WriteLine(memory.Describe("watch flood"));
        output.WriteLine($"writer: {Writes} writes in {elapsed.TotalSeconds:F1} s ({Writes / elapsed.TotalSeconds:F0}/s), {errors} errors");
        output.WriteLine(readerLatency.Describe("reader") + "; slowest " + readerLatency.Slowest(3));
        Assert.Equal(0, errors);
        Assert.True(readerLatency.Count > 0, "the reader got no reply during the flood");

        // The watcher starts reading: it gets the events its queue held, full to the limit, plus what the socket
        // buffers between the daemon and it had taken before they filled up; the rest were dropped. Then its reply.
        (int events, bool replied) = await DrainAsync(watcher.Socket, TimeSpan.FromSeconds(20));
        output.WriteLine($"watcher: {events} of {Writes + 2} events delivered after the flood, then replied: {replied}");
        Assert.True(replied, "the watcher's connection did not answer a request after the flood");
        Assert.InRange(events, SocketEventLimit, SocketEventLimit + SocketBufferedEvents());
        Assert.Equal("OK", (await writer.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
    }

    /// <summary>
    /// The most events the kernel can hold in flight on a Unix stream socket: its data is charged to the sender's
    /// send buffer (the daemon keeps the system default), which a last send may overshoot by one more block.
    /// </summary>
    private static int SocketBufferedEvents()
    {
        long sendBuffer = long.Parse(File.ReadAllText("/proc/sys/net/core/wmem_default").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return (int)(2 * sendBuffer / SmallestEvent);
    }

    /// <summary>Sends READ / and reads events until its reply arrives.</summary>
    private static async Task<(int Events, bool Replied)> DrainAsync(Socket socket, TimeSpan timeout)
    {
        byte[] request = SilentClient.Frame(XsMessageType.Read, "/\0"u8, reqId: 4242);
        await socket.SendAsync(request, SocketFlags.None);
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[1 << 20];
        int filled = 0;
        int events = 0;
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancel.Token);
                if (n == 0)
                {
                    return (events, false);
                }
                filled += n;
                int offset = 0;
                while (FrameParser.TryParse(buffer.AsSpan(offset, filled - offset), out XsHeader header, out int length) == FrameStatus.Complete)
                {
                    offset += length;
                    if (header.Type == XsMessageType.WatchEvent)
                    {
                        events++;
                    }
                    else if (header.ReqId == 4242)
                    {
                        return (events, true);
                    }
                }
                Buffer.BlockCopy(buffer, offset, buffer, 0, filled - offset);
                filled -= offset;
            }
        }
        catch (OperationCanceledException)
        {
            return (events, false);
        }
    }
}
