using System.Buffers.Binary;
using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Hostile guests over real shared rings (the simulated hypervisor): a guest that never reads its replies and a
/// broken guest that storms its event channel cost the daemon a bounded amount, and the well-behaved are served.
/// Round-trip figures under attack belong to the benchmark; these tests assert bounds and outcomes only.
/// </summary>
public sealed class HostileGuestTests
{
    private sealed class Host : IAsyncDisposable
    {
        public required string Simulation { get; init; }

        public required OurDaemon Daemon { get; init; }

        public required RawConnection Dom0 { get; init; }

        public static async Task<Host> StartAsync()
        {
            string simulation = Directory.CreateTempSubdirectory("xs-hostile-").FullName;
            OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", simulation, "--no-persistence");
            return new Host { Simulation = simulation, Daemon = daemon, Dom0 = await RawConnection.ConnectAsync(daemon) };
        }

        public async Task<SimulatedGuest> IntroduceAsync(uint domid)
        {
            SimulatedGuest guest = SimulatedGuest.Create(Simulation, domid);
            string home = $"/local/domain/{domid}";
            Assert.False((await Dom0.WriteAsync(home + "/name", "guest" + domid)).IsError);
            Assert.False((await Dom0.SetPermsAsync(home, "n0", "r" + domid)).IsError);
            Assert.False((await Dom0.SetPermsAsync(home + "/name", "n0", "r" + domid)).IsError);
            Assert.Equal("OK", (await Dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture), "0", "7"))).Text);
            return guest;
        }

        public async ValueTask DisposeAsync()
        {
            await Dom0.DisposeAsync();
            await Daemon.DisposeAsync();
            Directory.Delete(Simulation, recursive: true);
        }
    }

    [Fact]
    public async Task GuestThatNeverReads_IsNotReadEither_AndGetsEveryReplyInOrderOnceItReads()
    {
        await using Host host = await Host.StartAsync();
        using SimulatedGuest flooder = await host.IntroduceAsync(5);
        (uint sent, uint consumed) = await flooder.FloodWithoutReadingAsync(XsMessageType.Read, "name\0"u8.ToArray());
        // 16 KiB of undelivered replies (22 bytes each), the response ring (1 KiB) and the outstanding requests.
        Assert.InRange(consumed, 100u, 1200u);

        // Dom0 is not affected meanwhile.
        Assert.Equal("guest5", (await host.Dom0.ReadAsync("/local/domain/5/name")).Text);

        // Once the guest reads, every request it sent is answered, in order (those still in its ring too).
        for (uint reqId = 1; reqId <= sent; reqId++)
        {
            RawMessage? reply = flooder.TryReceive(RawConnection.DefaultTimeout);
            Assert.NotNull(reply);
            Assert.Equal(reqId, reply.ReqId);
            Assert.Equal("guest5", reply.Text);
        }
    }

    [Fact]
    public async Task BrokenGuestStormingItsEventChannel_CostsNoMemory_AndOthersAreServed()
    {
        await using Host host = await Host.StartAsync();
        using SimulatedGuest attacker = await host.IntroduceAsync(5);
        using SimulatedGuest bystander = await host.IntroduceAsync(6);
        // Index garbage: the daemon marks the ring broken (error 2) and ignores it from then on.
        attacker.Write(RingLayout.RequestProducer, attacker.Read(RingLayout.RequestConsumer) + 5000);
        attacker.Notify();
        var marked = DateTime.UtcNow + RawConnection.DefaultTimeout;
        while (attacker.ErrorField == 0 && DateTime.UtcNow < marked)
        {
            await Task.Delay(5);
        }
        Assert.Equal(2u, attacker.ErrorField);
        Assert.Equal("guest6", bystander.Request(XsMessageType.Read, "name").Text);

        long before = ProcessMemory.RssKiB(host.Daemon.ProcessId);
        byte[] storm = new byte[64 * 1024];
        for (int i = 0; i < storm.Length; i += 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(storm.AsSpan(i), 100 + attacker.Domid);
        }
        using var stop = new CancellationTokenSource();
        Task flood = Task.Run(() =>
        {
            using var fifo = new FileStream(Path.Combine(host.Simulation, "evt"), FileMode.Open, FileAccess.Write);
            long written = 0;
            // About four million notifications: far more than the daemon can service one by one.
            while (!stop.IsCancellationRequested && written < (16L << 20))
            {
                fifo.Write(storm);
                written += storm.Length;
            }
        });
        int served = 0;
        while (!flood.IsCompleted)
        {
            Assert.Equal("guest6", bystander.Request(XsMessageType.Read, "name").Text);
            served++;
        }
        await flood;
        long after = ProcessMemory.RssKiB(host.Daemon.ProcessId);
        Assert.True(served > 0);
        Assert.True(after - before < 32 * 1024, $"RSS grew from {before} KiB to {after} KiB under a notification storm");
        Assert.Equal("guest6", bystander.Request(XsMessageType.Read, "name").Text);
    }

    [Fact]
    public async Task GuestThatFillsItsRingWithAPartialFrameAndStops_CostsOnlyItsBuffer_AndItsFrameStillCompletes()
    {
        await using Host host = await Host.StartAsync();
        using SimulatedGuest stalled = await host.IntroduceAsync(5);
        using SimulatedGuest bystander = await host.IntroduceAsync(6);
        byte[] value = new byte[2000]; // under a guest's node size quota (2048), over a ring (1024)
        Array.Fill(value, (byte)'x');
        byte[] payload = RawPayload.Write("/local/domain/5/big", value);
        byte[] frame = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(frame, XsMessageType.Write, 1, 0, payload);
        Assert.Equal("OK", (await host.Dom0.SetPermsAsync("/local/domain/5", "n5")).Text);

        // The first ring's worth of the frame, then nothing: the daemon takes it and waits for the rest.
        stalled.SendRaw(frame.AsSpan(0, RingLayout.RingSize));
        var taken = DateTime.UtcNow + RawConnection.DefaultTimeout;
        while (stalled.Read(RingLayout.RequestConsumer) != RingLayout.RingSize && DateTime.UtcNow < taken)
        {
            await Task.Delay(5);
        }
        Assert.Equal((uint)RingLayout.RingSize, stalled.Read(RingLayout.RequestConsumer));
        long before = ProcessMemory.RssKiB(host.Daemon.ProcessId);
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal("guest6", bystander.Request(XsMessageType.Read, "name").Text);
            Assert.Equal("guest5", (await host.Dom0.ReadAsync("/local/domain/5/name")).Text);
        }
        Assert.Equal(0u, stalled.ErrorField);
        Assert.True(ProcessMemory.RssKiB(host.Daemon.ProcessId) - before < 16 * 1024);

        // The rest, much later: the frame is whole and answered.
        stalled.SendRaw(frame.AsSpan(RingLayout.RingSize));
        RawMessage? reply = stalled.TryReceive(RawConnection.DefaultTimeout);
        Assert.NotNull(reply);
        Assert.Equal("OK", reply.Text);
        Assert.Equal(2000, (await host.Dom0.ReadAsync("/local/domain/5/big")).Payload.Length);
    }

    [Fact]
    public async Task ReconnectStorm_LeavesNoOldSessionBehind_AndCostsBoundedMemory()
    {
        await using Host host = await Host.StartAsync();
        using SimulatedGuest guest = await host.IntroduceAsync(5);
        using SimulatedGuest bystander = await host.IntroduceAsync(6);
        long before = ProcessMemory.RssKiB(host.Daemon.ProcessId);
        for (int i = 0; i < 300; i++)
        {
            // Each session registers a watch and opens a transaction, then the guest asks for a fresh ring.
            Assert.Equal("OK", guest.Request(XsMessageType.Watch, "name", "t" + i.ToString(CultureInfo.InvariantCulture)).Text);
            Assert.False(guest.Request(XsMessageType.TransactionStart, "").IsError);
            Assert.True(guest.Reconnect());
        }
        Assert.True(ProcessMemory.RssKiB(host.Daemon.ProcessId) - before < 32 * 1024);
        Assert.Equal("guest6", bystander.Request(XsMessageType.Read, "name").Text);

        // No watch of an old session fires; the current session's own watch does, once on registration and once per write.
        Assert.Equal("OK", guest.Request(XsMessageType.Watch, "name", "current").Text);
        Assert.Equal("OK", (await host.Dom0.WriteAsync("/local/domain/5/name", "renamed")).Text);
        Assert.Equal("current", TokenOf(guest.NextEvent()));
        Assert.Equal("current", TokenOf(guest.NextEvent()));
        // An old session's transactions are gone too: the guest can open as many as its quota allows again.
        Assert.False(guest.Request(XsMessageType.TransactionStart, "").IsError);
        Assert.Null(guest.NextEvent(TimeSpan.FromMilliseconds(300)));
    }

    private static string TokenOf(RawMessage? watchEvent)
    {
        Assert.NotNull(watchEvent);
        string[] parts = System.Text.Encoding.ASCII.GetString(watchEvent.Payload).Split('\0');
        return parts[1];
    }
}
