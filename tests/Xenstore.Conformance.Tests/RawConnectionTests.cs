using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>The raw test client itself, against the reference C daemon.</summary>
public sealed class RawConnectionTests
{
    [Fact]
    public async Task Request_reply_and_own_watch_event_come_in_order()
    {
        await using var daemon = await ReferenceDaemon.StartOrSkipAsync("c");
        await using var conn = await RawConnection.ConnectAsync(daemon);

        Assert.True((await conn.WriteAsync("/raw/a", "1")).IsOk);
        Assert.Equal("1", (await conn.ReadAsync("/raw/a")).Text);
        Assert.True((await conn.WatchAsync("/raw", "tok")).IsOk);
        RawMessage? initial = await conn.NextEventAsync();
        Assert.Equal(["/raw", "tok"], initial!.Strings);

        RawMessage reply = await conn.WriteAsync("/raw/a", "2");
        Assert.True(reply.IsOk);
        // The write's own event was sent before its reply, so it is already queued.
        Assert.True(conn.Events.TryRead(out RawMessage? fired));
        Assert.Equal(["/raw/a", "tok"], fired!.Strings);
        Assert.True(fired.Sequence < reply.Sequence);

        Assert.Equal("ENOENT", (await conn.ReadAsync("/raw/missing")).ErrorName);
        uint tx = await conn.StartTransactionIdAsync();
        Assert.NotEqual(0u, tx);
        Assert.True((await conn.TransactionEndAsync(tx, commit: false)).IsOk);
    }

    [Fact]
    public async Task Oversized_header_closes_the_connection()
    {
        await using var daemon = await ReferenceDaemon.StartOrSkipAsync("c");
        await using var conn = await RawConnection.ConnectAsync(daemon);
        await conn.SendAsync(new XsHeader(XsMessageType.Read, 1, 0, 4097), new byte[4097]);
        Assert.True(await conn.IsClosedAsync());
    }
}
