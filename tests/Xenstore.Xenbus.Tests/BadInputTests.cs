using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// What the daemon does with bad input, xenbusd does for the one client that sent it: an oversized frame closes
/// that client, malformed payloads get the daemon's errno, a client that does not read is cut off; nobody else
/// notices.
/// </summary>
public sealed class BadInputTests(XenbusFixture fixture) : IClassFixture<XenbusFixture>
{
    private static int s_counter;

    private static string Unique(string hint) => $"/t/{hint}{Interlocked.Increment(ref s_counter)}";

    [Fact]
    public async Task An_oversized_frame_closes_that_client_only()
    {
        string path = Unique("big");
        await using RawConnection bystander = await fixture.ConnectAsync();
        Assert.True((await bystander.WatchAsync(path, "b")).IsOk);
        await bystander.NextEventAsync();

        await using RawConnection garbage = await fixture.ConnectAsync();
        Assert.True((await garbage.WriteAsync(path + "/g", "1")).IsOk);
        await garbage.SendAsync(new XsHeader(XsMessageType.Write, 1, 0, XsConstants.PayloadMax + 1), new byte[64]);
        Assert.True(await garbage.IsClosedAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal([path + "/g", "b"], (await bystander.NextEventAsync())!.Strings);
        uint tx = await bystander.StartTransactionIdAsync();
        Assert.True((await bystander.WriteAsync(path + "/after", "1", tx)).IsOk);
        Assert.True((await bystander.TransactionEndAsync(tx, commit: true)).IsOk);
        Assert.Equal([path + "/after", "b"], (await bystander.NextEventAsync())!.Strings);
    }

    [Fact]
    public async Task A_payload_of_exactly_4096_bytes_is_accepted()
    {
        string path = Unique("max");
        await using RawConnection client = await fixture.ConnectAsync();
        byte[] pathBytes = Encoding.ASCII.GetBytes(path + "\0");
        byte[] payload = new byte[XsConstants.PayloadMax];
        pathBytes.CopyTo(payload, 0);
        payload.AsSpan(pathBytes.Length).Fill((byte)'v');
        await using RawConnection direct = await fixture.DirectAsync();
        RawMessage fromDaemon = await direct.RequestAsync(XsMessageType.Write, payload);
        RawMessage reply = await client.RequestAsync(XsMessageType.Write, payload);
        Assert.Equal((fromDaemon.Type, fromDaemon.Text), (reply.Type, reply.Text));
        Assert.Equal(4096 - pathBytes.Length, (await client.ReadAsync(path)).Payload.Length);
        Assert.False(await client.IsClosedAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Theory]
    [InlineData(XsMessageType.Read, "no-nul", "EINVAL")]
    [InlineData(XsMessageType.Watch, "/only-a-path\0", "EINVAL")]
    [InlineData(XsMessageType.Unwatch, "", "EINVAL")]
    [InlineData(XsMessageType.WatchEvent, "/x\0t\0", "ENOSYS")]
    [InlineData((XsMessageType)999, "", "ENOSYS")]
    [InlineData(XsMessageType.Write, "", "EINVAL")]
    public async Task Malformed_payloads_get_the_daemons_errno(XsMessageType type, string payload, string expected)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(payload);
        await using RawConnection direct = await fixture.DirectAsync();
        await using RawConnection through = await fixture.ConnectAsync();
        RawMessage fromDaemon = await direct.RequestAsync(type, bytes, reqId: 9);
        RawMessage fromXenbus = await through.RequestAsync(type, bytes, reqId: 9);
        Assert.Equal(expected, fromDaemon.ErrorName);
        Assert.Equal((fromDaemon.Type, fromDaemon.ReqId, fromDaemon.TxId, fromDaemon.Text),
            (fromXenbus.Type, fromXenbus.ReqId, fromXenbus.TxId, fromXenbus.Text));
    }

    [Fact]
    public async Task A_bad_transaction_end_is_einval_and_the_transaction_stays_open()
    {
        string path = Unique("end");
        await using RawConnection client = await fixture.ConnectAsync();
        uint tx = await client.StartTransactionIdAsync();
        Assert.Equal("EINVAL", (await client.RequestAsync(XsMessageType.TransactionEnd, RawPayload.Strings("X"), tx)).ErrorName);
        Assert.Equal("EINVAL", (await client.RequestAsync(XsMessageType.TransactionEnd, Encoding.ASCII.GetBytes("T"), tx)).ErrorName);
        Assert.True((await client.WriteAsync(path, "1", tx)).IsOk);
        Assert.True((await client.TransactionEndAsync(tx, commit: true)).IsOk);
        Assert.Equal("1", (await client.ReadAsync(path)).Text);
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_cut_off_and_nobody_else_waits()
    {
        string path = Unique("silent");
        await using RawConnection writer = await fixture.ConnectAsync();
        Assert.True((await writer.WriteAsync(path, new string('x', 2000))).IsOk);

        // A raw socket that sends requests and never reads a byte.
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix,
            System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        await silent.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(fixture.Xenbus.SocketPath));
        byte[] read = new byte[XsConstants.HeaderSize + path.Length + 1];
        new XsHeader(XsMessageType.Read, 1, 0, (uint)path.Length + 1).Write(read);
        Encoding.ASCII.GetBytes(path + "\0").CopyTo(read, XsConstants.HeaderSize);
        var flood = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; i < 5000; i++)
                {
                    await silent.SendAsync(read);
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Cut off.
            }
        });

        // Meanwhile everyone else is served.
        await using RawConnection other = await fixture.ConnectAsync();
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(2000, (await other.ReadAsync(path)).Payload.Length);
        }
        Assert.True(await flood.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(t => t.IsCompletedSuccessfully));
        // The silent client was cut off: draining its socket ends with end-of-stream.
        silent.ReceiveTimeout = 10_000;
        var sink = new byte[65536];
        long drained = 0;
        try
        {
            int got;
            while ((got = silent.Receive(sink)) > 0)
            {
                drained += got;
            }
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
        {
            // Closed with requests unread: a reset rather than end-of-stream.
        }
        Assert.True(drained < 5000L * 2016, $"drained {drained} bytes: every reply was queued");
        Assert.Contains(fixture.Xenbus.LogLines, l => l.Contains("does not read", StringComparison.Ordinal));
    }
}
