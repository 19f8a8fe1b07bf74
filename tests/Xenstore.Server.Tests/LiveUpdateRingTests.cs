using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Guests over rings across a live update: each keeps writing, one request at a time, and every request is answered.
/// A guest that waits for its reply sends no further notification, so a notification taken by the old daemon after
/// it stopped serving the rings would leave that guest waiting for good.
/// </summary>
public sealed class LiveUpdateRingTests
{
    private const int Guests = 3;

    [Fact]
    public async Task LiveUpdate_AnswersEveryGuestRequestMadeAcrossTheHandover()
    {
        string rings = Directory.CreateTempSubdirectory("xs-lu-rings-").FullName;
        await using OurDaemon daemon = await OurDaemon.StartAsync("--sim-dir", rings);
        await using RawConnection dom0 = await RawConnection.ConnectAsync(daemon);
        var guests = new List<SimulatedGuest>();
        using var stop = new CancellationTokenSource();
        Task[] writers = [];
        try
        {
            for (uint domid = 5; domid < 5 + Guests; domid++)
            {
                guests.Add(await IntroduceAsync(dom0, rings, domid));
            }
            long[] answered = new long[Guests];
            writers = guests.Select((guest, index) => Task.Factory.StartNew(() =>
            {
                for (long i = 1; !stop.IsCancellationRequested; i++)
                {
                    string value = i.ToString(CultureInfo.InvariantCulture);
                    RawMessage reply = guest.Request(XsMessageType.Write, RawPayload.Write("data/last", System.Text.Encoding.ASCII.GetBytes(value)), timeout: TimeSpan.FromSeconds(15));
                    Assert.False(reply.IsError, reply.ErrorName);
                    Volatile.Write(ref answered[index], i);
                }
            }, TaskCreationOptions.LongRunning)).ToArray();

            await Task.Delay(200);
            Assert.Equal("OK", (await dom0.ControlAsync("live-update", "-f", OurDaemon.DaemonDll)).Text);
            Assert.Equal("OK", (await dom0.ControlAsync("live-update", "-s", "-t", "30")).Text);
            await WaitUntilAsync(() => daemon.HasExited);
            long[] atHandover = Enumerable.Range(0, Guests).Select(i => Volatile.Read(ref answered[i])).ToArray();
            await Task.Delay(500);
            await stop.CancelAsync();
            await Task.WhenAll(writers);

            for (int index = 0; index < Guests; index++)
            {
                Assert.True(answered[index] > atHandover[index], $"guest {5 + index} had no request answered after the hand-over");
                string last = (await dom0.ReadAsync($"/local/domain/{5 + index}/data/last")).Text;
                Assert.Equal(answered[index].ToString(CultureInfo.InvariantCulture), last);
            }
        }
        finally
        {
            // A writer still running would use its guest's page after the unmapping: stopped first, whatever failed.
            await stop.CancelAsync();
            await Task.WhenAll(writers).ContinueWith(static _ => { }, TaskScheduler.Default);
            foreach (SimulatedGuest guest in guests)
            {
                guest.Dispose();
            }
        }
    }

    private static async Task<SimulatedGuest> IntroduceAsync(RawConnection dom0, string rings, uint domid)
    {
        SimulatedGuest guest = SimulatedGuest.Create(rings, domid);
        string home = $"/local/domain/{domid}";
        Assert.False((await dom0.MkdirAsync(home + "/data")).IsError);
        Assert.False((await dom0.SetPermsAsync(home, "n0", $"r{domid}")).IsError);
        Assert.False((await dom0.SetPermsAsync(home + "/data", $"n{domid}")).IsError);
        string id = domid.ToString(CultureInfo.InvariantCulture);
        Assert.Equal("OK", (await dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings(id, "0", "7"))).Text);
        return guest;
    }

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.TrueAsync(condition, TimeSpan.FromSeconds(60), "the old daemon did not leave");
}
