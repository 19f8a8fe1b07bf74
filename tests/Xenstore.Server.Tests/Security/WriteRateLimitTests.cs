using System.Diagnostics;
using System.Globalization;
using Xenstore.Protocol;
using Xenstore.Server.Transports.Rings;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>
/// XSA-206: a guest writing as fast as it can kept a toolstack's transactions failing at commit. A guest now pays
/// a credit per write made while a transaction is open and waits, unrefused, once its credit is spent.
/// </summary>
public sealed class WriteRateLimitTests(ITestOutputHelper output)
{
    [Fact]
    public void Credit_AllowsTheBurst_ThenRefillsAtTheRate_UpToTheBurst()
    {
        var clock = new ManualClock();
        var limit = new WriteRateLimit(writesPerSecond: 200, burst: 10, clock);
        WriteCredit account = limit.NewAccount();
        for (int i = 0; i < 10; i++)
        {
            Assert.False(limit.MustWait(account));
            limit.Charge(account);
        }
        // The eleventh write goes below zero by one, as in C: from then on the guest waits.
        Assert.False(limit.MustWait(account));
        limit.Charge(account);
        Assert.True(limit.MustWait(account));
        Assert.Equal(TimeSpan.FromMilliseconds(5), limit.UntilReadable(account));
        clock.Advance(TimeSpan.FromMilliseconds(4));
        Assert.True(limit.MustWait(account));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(limit.MustWait(account));
        // A long quiet spell earns no more than the burst.
        clock.Advance(TimeSpan.FromMinutes(5));
        for (int i = 0; i < 11; i++)
        {
            Assert.False(limit.MustWait(account));
            limit.Charge(account);
        }
        Assert.True(limit.MustWait(account));
        Assert.Equal(22, account.Charged);
    }

    [Fact]
    public void Credit_RateZero_IsOff()
    {
        Assert.False(new WriteRateLimit(0, 10, new ManualClock()).Enabled);
    }

    /// <summary>
    /// Over its real ring, a guest that keeps writes in flight while dom0 holds a transaction open gets through no
    /// more than its burst plus its rate over the time it tried (a bound that only a missing limit can break: a
    /// slow machine lets fewer through); every write is answered OK once the transaction ends; dom0 is never
    /// limited; and the guest's first wait is logged.
    /// </summary>
    [Fact]
    public async Task Guest_WritingWhileATransactionIsOpen_IsHeldToItsRate_AndLosesNothing()
    {
        const int Rate = 20;
        const int Burst = 3;
        const int Writes = 30;
        await using XsaHost host = await XsaHost.StartAsync("ours", "--guest-write-rate", $"{Rate}:{Burst}");
        using SimulatedGuest guest = await host.CreateDomainAsync(5);
        uint tx = uint.Parse((await host.Dom0.RequestAsync(XsMessageType.TransactionStart, RawPayload.Strings(""))).Text, CultureInfo.InvariantCulture);

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Writes; i++)
        {
            guest.Enqueue(XsMessageType.Write, RawPayload.Write("data/state", Encoding(i)));
        }
        guest.Notify();
        int answered = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(0.5) && guest.TryReceive(TimeSpan.FromMilliseconds(200)) is { } reply)
        {
            Assert.False(reply.IsError, reply.ErrorName);
            answered++;
        }
        double tried = clock.Elapsed.TotalSeconds;
        output.WriteLine($"{answered} of {Writes} writes answered in {tried:F2} s with a transaction open");
        Assert.InRange(answered, 1, Burst + 1 + (int)Math.Ceiling(Rate * tried));

        // dom0 is not limited, and its transaction commits.
        for (int i = 0; i < 50; i++)
        {
            Assert.False((await host.Dom0.WriteAsync("/local/domain/0/busy", "x")).IsError);
        }
        Assert.False((await host.Dom0.RequestAsync(XsMessageType.TransactionEnd, RawPayload.Strings("T"), tx)).IsError);

        // With no transaction open the rest is free: every write is answered, the last value stays.
        while (answered < Writes)
        {
            RawMessage reply = guest.TryReceive(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException($"{answered} of {Writes} writes answered");
            Assert.False(reply.IsError, reply.ErrorName);
            answered++;
        }
        Assert.Equal(System.Text.Encoding.ASCII.GetString(Encoding(Writes - 1)), (await host.Dom0.ReadAsync("/local/domain/5/data/state")).Text);
        Assert.Contains("Write rate limit: domain 5 is affected", string.Join('\n', ((OurDaemon)host.Daemon).LogLines), StringComparison.Ordinal);
    }

    private static byte[] Encoding(int i) => System.Text.Encoding.ASCII.GetBytes("v" + i.ToString(CultureInfo.InvariantCulture));
}
