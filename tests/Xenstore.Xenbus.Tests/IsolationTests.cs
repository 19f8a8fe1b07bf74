using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// Many clients over xenbusd's one upstream connection, each seeing what it would see on a socket of its own:
/// its own req_ids and order, its own transactions, watches and tokens, its own RESET_WATCHES, its own close.
/// </summary>
public sealed class IsolationTests(XenbusFixture fixture) : IClassFixture<XenbusFixture>
{
    private static int s_counter;

    private static string Unique(string hint) => $"/t/{hint}{Interlocked.Increment(ref s_counter)}";

    [Fact]
    public async Task Replies_carry_the_clients_own_req_ids_in_its_order()
    {
        string path = Unique("order");
        await using RawConnection a = await fixture.ConnectAsync();
        await using RawConnection b = await fixture.ConnectAsync();
        // Both clients use the same req_ids at once; each must get its own back, in its own order.
        for (uint i = 0; i < 50; i++)
        {
            await a.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"{path}/a{i}", Encoding.ASCII.GetBytes("a" + i)), reqId: 1000 + i);
            await b.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"{path}/b{i}", Encoding.ASCII.GetBytes("b" + i)), reqId: 1000 + i);
            await a.SendRequestAsync(XsMessageType.Read, RawPayload.Strings($"{path}/a{i}"), reqId: 5000 + i);
        }
        for (uint i = 0; i < 50; i++)
        {
            RawMessage write = await a.NextReplyAsync();
            Assert.Equal((XsMessageType.Write, 1000 + i), (write.Type, write.ReqId));
            RawMessage read = await a.NextReplyAsync();
            Assert.Equal((XsMessageType.Read, 5000 + i, "a" + i), (read.Type, read.ReqId, read.Text));
            RawMessage other = await b.NextReplyAsync();
            Assert.Equal((XsMessageType.Write, 1000 + i), (other.Type, other.ReqId));
        }
    }

    [Fact]
    public async Task Transactions_are_numbered_per_client_and_a_foreign_id_is_enoent()
    {
        string path = Unique("tx");
        await using RawConnection a = await fixture.ConnectAsync();
        await using RawConnection b = await fixture.ConnectAsync();
        uint ta = await a.StartTransactionIdAsync();
        uint ta2 = await a.StartTransactionIdAsync();
        // As on a connection of its own: B's first transaction is 1 too.
        Assert.Equal((1u, 2u), (ta, ta2));
        Assert.Equal("ENOENT", (await b.WriteAsync(path + "/x", "b", ta2)).ErrorName);
        uint tb = await b.StartTransactionIdAsync();
        Assert.Equal(1u, tb);
        Assert.True((await a.WriteAsync(path + "/x", "a", ta)).IsOk);
        Assert.True((await b.WriteAsync(path + "/y", "b", tb)).IsOk);
        // Isolation: nobody sees the other's uncommitted write; a request echoes the client's tx id.
        RawMessage inB = await b.ReadAsync(path + "/x", tb);
        Assert.Equal(("ENOENT", tb), (inB.ErrorName, inB.TxId));
        Assert.True((await a.TransactionEndAsync(ta, commit: true)).IsOk);
        Assert.True((await b.TransactionEndAsync(tb, commit: false)).IsOk);
        Assert.True((await a.TransactionEndAsync(ta2, commit: false)).IsOk);
        Assert.Equal("a", (await b.ReadAsync(path + "/x")).Text);
        Assert.Equal("ENOENT", (await b.ReadAsync(path + "/y")).ErrorName);
        // Ended: the id is unknown again.
        Assert.Equal("ENOENT", (await a.ReadAsync(path + "/x", ta)).ErrorName);
    }

    [Fact]
    public async Task Watches_keep_each_clients_tokens_and_events_go_to_their_client_only()
    {
        string path = Unique("w");
        await using RawConnection a = await fixture.ConnectAsync();
        await using RawConnection b = await fixture.ConnectAsync();
        await using RawConnection c = await fixture.ConnectAsync();
        // The same path and token from two clients: two watches, as on two sockets.
        Assert.True((await a.WatchAsync(path, "tok")).IsOk);
        Assert.True((await b.WatchAsync(path, "tok")).IsOk);
        Assert.True((await b.WatchAsync(path + "/only-b", "b-token")).IsOk);
        // A duplicate within one client is EEXIST; an unknown UNWATCH is ENOENT, as the daemon says.
        Assert.Equal("EEXIST", (await a.WatchAsync(path, "tok")).ErrorName);
        Assert.Equal("ENOENT", (await a.UnwatchAsync(path, "nope")).ErrorName);
        Assert.Equal([path, "tok"], (await a.NextEventAsync())!.Strings);
        Assert.Equal([path, "tok"], (await b.NextEventAsync())!.Strings);
        Assert.Equal([path + "/only-b", "b-token"], (await b.NextEventAsync())!.Strings);

        Assert.True((await c.WriteAsync(path + "/only-b", "1")).IsOk);
        Assert.Equal([path + "/only-b", "tok"], (await a.NextEventAsync())!.Strings);
        var forB = new HashSet<string> { string.Join('|', (await b.NextEventAsync())!.Strings), string.Join('|', (await b.NextEventAsync())!.Strings) };
        Assert.Equal(new HashSet<string> { $"{path}/only-b|tok", $"{path}/only-b|b-token" }, forB);
        await a.SyncAsync();
        await c.SyncAsync();
        Assert.False(a.Events.TryRead(out _));
        Assert.False(c.Events.TryRead(out _));

        Assert.True((await a.UnwatchAsync(path, "tok")).IsOk);
        Assert.True((await c.WriteAsync(path + "/again", "1")).IsOk);
        Assert.Equal([path + "/again", "tok"], (await b.NextEventAsync())!.Strings);
        await a.SyncAsync();
        Assert.False(a.Events.TryRead(out _));
    }

    [Fact]
    public async Task Watch_depth_is_passed_to_the_daemon()
    {
        string path = Unique("depth");
        await using RawConnection a = await fixture.ConnectAsync();
        Assert.True((await a.RequestAsync(XsMessageType.Watch, RawPayload.Strings(path, "d0", "0"))).IsOk);
        Assert.Equal([path, "d0"], (await a.NextEventAsync())!.Strings);
        Assert.True((await a.WriteAsync(path + "/child", "1")).IsOk);
        Assert.True((await a.WriteAsync(path, "2")).IsOk);
        // Depth 0: the node only, so the child's write fired nothing.
        Assert.Equal([path, "d0"], (await a.NextEventAsync())!.Strings);
        await a.SyncAsync();
        Assert.False(a.Events.TryRead(out _));
    }

    [Fact]
    public async Task Reset_watches_applies_to_the_calling_client_only()
    {
        string path = Unique("reset");
        await using RawConnection a = await fixture.ConnectAsync();
        await using RawConnection b = await fixture.ConnectAsync();
        Assert.True((await a.WatchAsync(path, "a")).IsOk);
        Assert.True((await b.WatchAsync(path, "b")).IsOk);
        await a.NextEventAsync();
        await b.NextEventAsync();
        uint ta = await a.StartTransactionIdAsync();
        uint tb = await b.StartTransactionIdAsync();
        Assert.True((await a.WriteAsync(path + "/in-a", "1", ta)).IsOk);

        RawMessage reset = await a.RequestAsync(XsMessageType.ResetWatches, RawPayload.Strings(""), reqId: 77);
        Assert.Equal((XsMessageType.ResetWatches, 77u, "OK"), (reset.Type, reset.ReqId, reset.Text));
        Assert.Equal("ENOENT", (await a.ReadAsync(path, ta)).ErrorName);
        Assert.True((await b.WriteAsync(path + "/in-b", "1", tb)).IsOk);
        Assert.True((await b.TransactionEndAsync(tb, commit: true)).IsOk);
        Assert.Equal([path + "/in-b", "b"], (await b.NextEventAsync())!.Strings);
        await a.SyncAsync();
        Assert.False(a.Events.TryRead(out _));
        Assert.Equal("ENOENT", (await a.ReadAsync(path + "/in-a")).ErrorName);
        // The watch can be registered again with the same token.
        Assert.True((await a.WatchAsync(path, "a")).IsOk);
    }

    [Fact]
    public async Task A_client_that_closes_leaves_nothing_open_upstream()
    {
        string path = Unique("close");
        (int watchesBefore, int transactionsBefore) = await WaitForUsageAsync(null);
        RawConnection a = await fixture.ConnectAsync();
        for (int i = 0; i < 5; i++)
        {
            Assert.True((await a.WatchAsync($"{path}/{i}", "t")).IsOk);
        }
        uint tx = await a.StartTransactionIdAsync();
        Assert.True((await a.WriteAsync(path + "/uncommitted", "1", tx)).IsOk);
        await a.StartTransactionIdAsync();
        Assert.Equal((watchesBefore + 5, transactionsBefore + 2), await fixture.Dom0UsageAsync());
        // A START still on its way when the client goes must not leak either.
        await a.SendRequestAsync(XsMessageType.TransactionStart, RawPayload.Strings(""));
        await a.DisposeAsync();

        Assert.Equal((watchesBefore, transactionsBefore), await WaitForUsageAsync((watchesBefore, transactionsBefore)));
        await using RawConnection b = await fixture.ConnectAsync();
        Assert.Equal("ENOENT", (await b.ReadAsync(path + "/uncommitted")).ErrorName);
    }

    [Fact]
    public async Task Requests_sent_just_before_a_close_are_still_carried_out()
    {
        string path = Unique("lastwords");
        const int Writes = 40;
        // Watched behind xenbusd's back: the last write's event says every write before it reached the daemon.
        await using RawConnection watcher = await fixture.DirectAsync();
        Assert.True((await watcher.WatchAsync($"{path}/{Writes - 1}", "last")).IsOk);
        Assert.NotNull(await watcher.NextEventAsync());
        RawConnection writer = await fixture.ConnectAsync();
        for (int i = 0; i < Writes; i++)
        {
            await writer.SendRequestAsync(XsMessageType.Write, RawPayload.Write($"{path}/{i}", Encoding.ASCII.GetBytes("v" + i)));
        }
        // Closed without waiting for a reply: xenbusd reads the requests and the end of the stream together.
        await writer.DisposeAsync();

        RawMessage? last = await watcher.NextEventAsync();
        Assert.NotNull(last);
        for (int i = 0; i < Writes; i++)
        {
            Assert.Equal("v" + i, (await watcher.ReadAsync($"{path}/{i}")).Text);
        }
    }

    /// <summary>Polls the daemon's usage until it equals <paramref name="wanted"/> (or returns the last value).</summary>
    private async Task<(int Watches, int Transactions)> WaitForUsageAsync((int, int)? wanted)
    {
        (int, int) usage = await fixture.Dom0UsageAsync();
        for (int i = 0; i < 100 && (wanted is null ? false : usage != wanted.Value); i++)
        {
            await Task.Delay(50);
            usage = await fixture.Dom0UsageAsync();
        }
        return usage;
    }

    [Fact]
    public async Task Two_hundred_clients_at_once_each_get_their_own_replies_and_events()
    {
        string path = Unique("many");
        var clients = new RawConnection[200];
        for (int i = 0; i < clients.Length; i++)
        {
            clients[i] = await fixture.ConnectAsync();
        }
        try
        {
            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                string mine = $"{path}/{i}";
                Assert.True((await client.WatchAsync(mine, "mine")).IsOk);
                Assert.Equal([mine, "mine"], (await client.NextEventAsync())!.Strings);
                while (true)
                {
                    uint tx = await client.StartTransactionIdAsync();
                    Assert.True((await client.WriteAsync(mine, "v" + i, tx)).IsOk);
                    RawMessage end = await client.TransactionEndAsync(tx, commit: true);
                    if (end.ErrorName == "EAGAIN")
                    {
                        continue;
                    }
                    Assert.True(end.IsOk, end.Describe());
                    break;
                }
                Assert.Equal([mine, "mine"], (await client.NextEventAsync())!.Strings);
                Assert.Equal("v" + i, (await client.ReadAsync(mine)).Text);
            }));
            foreach (RawConnection client in clients)
            {
                await client.SyncAsync();
                Assert.False(client.Events.TryRead(out RawMessage? extra), extra?.Describe());
            }
        }
        finally
        {
            foreach (RawConnection client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
