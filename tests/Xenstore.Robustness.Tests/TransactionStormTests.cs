using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Robustness.Tests;

/// <summary>
/// 200 transactions open at once on 20 connections, committing conflicting and non-conflicting writes: every
/// commit is OK or EAGAIN, exactly one writer of each contended node wins, nothing else is lost, the store stays
/// consistent; then contended read-modify-write loops with retries lose no increment.
/// </summary>
public sealed class TransactionStormTests(ITestOutputHelper output)
{
    private const int Connections = 20;
    private const int Transactions = 200;

    [Fact]
    public async Task ConcurrentTransactions_CommitOrConflictCleanly()
    {
        await using OurDaemon daemon = await OurDaemon.StartAsync();
        var clients = new RawConnection[Connections];
        for (int i = 0; i < Connections; i++)
        {
            clients[i] = await RawConnection.ConnectAsync(daemon);
        }
        try
        {
            RawConnection admin = clients[0];
            Assert.False((await admin.WriteAsync("/storm/shared", "initial")).IsError);
            for (int k = 0; k < Transactions; k++)
            {
                Assert.False((await admin.WriteAsync($"/storm/own/{k}", "initial")).IsError);
            }
            for (int g = 0; g < 10; g++)
            {
                Assert.False((await admin.WriteAsync($"/storm/hot/{g}", "initial")).IsError);
            }
            await using var memory = new DaemonMemory(daemon.ProcessId);

            // Transaction k runs on connection k % 20. Kind: k % 4 == 0 contends for /storm/shared, k % 4 == 1 for
            // /storm/hot/{k % 10}; the rest write only their own, pre-existing node.
            static string? Contended(int k) => (k % 4) switch { 0 => "/storm/shared", 1 => $"/storm/hot/{k % 10}", _ => null };
            var ids = new uint[Transactions];
            await ForEachConnectionAsync(clients, async (client, k) => ids[k] = await client.StartTransactionIdAsync());
            await ForEachConnectionAsync(clients, async (client, k) =>
            {
                string? contended = Contended(k);
                if (contended is not null)
                {
                    Assert.Equal("initial", (await client.ReadAsync(contended, ids[k])).Text);
                    Assert.Equal("OK", (await client.WriteAsync(contended, $"tx{k}", ids[k])).Text);
                }
                Assert.Equal("OK", (await client.WriteAsync($"/storm/own/{k}", $"tx{k}", ids[k])).Text);
            });
            var results = new string[Transactions];
            await ForEachConnectionAsync(clients, async (client, k) =>
            {
                RawMessage end = await client.TransactionEndAsync(ids[k], commit: true);
                results[k] = end.IsError ? end.ErrorName! : end.Text;
            });

            Assert.All(results, r => Assert.True(r is "OK" or "EAGAIN", "commit answered " + r));
            int committed = results.Count(r => r == "OK");
            output.WriteLine($"storm: {committed} of {Transactions} committed, {Transactions - committed} EAGAIN");
            for (int k = 0; k < Transactions; k++)
            {
                if (Contended(k) is null)
                {
                    Assert.Equal("OK", results[k]);
                }
                string own = (await admin.ReadAsync($"/storm/own/{k}")).Text;
                Assert.Equal(results[k] == "OK" ? $"tx{k}" : "initial", own);
            }
            foreach (IGrouping<string, int> group in Enumerable.Range(0, Transactions).Where(k => Contended(k) is not null).GroupBy(k => Contended(k)!))
            {
                int[] winners = group.Where(k => results[k] == "OK").ToArray();
                Assert.True(winners.Length == 1, $"{group.Key}: {winners.Length} winners among transactions that all read it before any commit");
                Assert.Equal($"tx{winners[0]}", (await admin.ReadAsync(group.Key)).Text);
            }
            Assert.Equal("OK", (await admin.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);

            // Read-modify-write with retries from every connection: no increment is lost, every loop finishes.
            Assert.False((await admin.WriteAsync("/storm/counter", "0")).IsError);
            int attempts = 0;
            await Task.WhenAll(clients.Select(async client =>
            {
                for (int n = 0; n < 5; n++)
                {
                    for (int attempt = 0; ; attempt++)
                    {
                        Assert.True(attempt < 200, "a transaction retried 200 times without committing");
                        Interlocked.Increment(ref attempts);
                        uint tx = await client.StartTransactionIdAsync();
                        int value = int.Parse((await client.ReadAsync("/storm/counter", tx)).Text, System.Globalization.CultureInfo.InvariantCulture);
                        Assert.Equal("OK", (await client.WriteAsync("/storm/counter", (value + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), tx)).Text);
                        RawMessage end = await client.TransactionEndAsync(tx, commit: true);
                        if (!end.IsError)
                        {
                            break;
                        }
                        Assert.Equal("EAGAIN", end.ErrorName);
                    }
                }
            }));
            output.WriteLine($"counter: {Connections * 5} increments in {attempts} attempts");
            Assert.Equal((Connections * 5).ToString(System.Globalization.CultureInfo.InvariantCulture), (await admin.ReadAsync("/storm/counter")).Text);
            Assert.Equal("OK", (await admin.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
            output.WriteLine(memory.Describe("transaction storm"));
        }
        finally
        {
            foreach (RawConnection client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>Runs <paramref name="step"/> for every transaction, connections in parallel, each in order.</summary>
    private static Task ForEachConnectionAsync(RawConnection[] clients, Func<RawConnection, int, Task> step) =>
        Task.WhenAll(clients.Select(async (client, c) =>
        {
            for (int k = c; k < Transactions; k += clients.Length)
            {
                await step(client, k);
            }
        }));
}
