using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>The raw test client itself: how it connects, and its message handling against the reference C daemons.</summary>
public sealed class RawConnectionTests
{
    public static TheoryData<string> References => DaemonKinds.Data(DaemonKinds.ReferenceC);

    [Fact]
    public async Task Connect_WaitsOutAFullListenBacklog()
    {
        using var listener = new FullBacklogListener();
        Assert.InRange(listener.Waiting, 1, 63);

        Task<RawConnection> connecting = RawConnection.ConnectAsync(listener.Path);
        await Task.Delay(100);
        Assert.False(connecting.IsCompleted, "the connect gave up (or got in) while the backlog was full");

        // The daemon catches up: the retry is accepted.
        int waiting = listener.Waiting;
        Assert.Equal(waiting + 1, await listener.AcceptAllAsync(more: 1, TimeSpan.FromSeconds(5)));
        await using RawConnection connection = await connecting.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Connect_ReportsARefusalThatIsNotAFullBacklog()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"xs-missing-{Guid.NewGuid():N}", "socket");
        var error = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => RawConnection.ConnectAsync(missing));
        Assert.False(UnixSocketConnector.IsFullBacklog(error));
    }

    [Theory]
    [MemberData(nameof(References))]
    public async Task RequestReplyAndOwnWatchEvent_ComeInOrder(string kind)
    {
        await using var daemon = await ReferenceDaemon.StartOrSkipAsync(kind);
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

    [Theory]
    [MemberData(nameof(References))]
    public async Task OversizedHeader_ClosesTheConnection(string kind)
    {
        await using var daemon = await ReferenceDaemon.StartOrSkipAsync(kind);
        await using var conn = await RawConnection.ConnectAsync(daemon);
        await conn.SendAsync(new XsHeader(XsMessageType.Read, 1, 0, 4097), new byte[4097]);
        Assert.True(await conn.IsClosedAsync());
    }
}
