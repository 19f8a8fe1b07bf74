using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

/// <summary>Late replies, lost connections and reconnection, produced with a relay in front of a real daemon.</summary>
public sealed class FaultTests(DaemonPool pool)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Long enough for the request that follows a held one on a loaded machine, short enough to keep the tests quick.
    /// </summary>
    private static readonly XenstoreClientOptions s_shortTimeout = new() { RequestTimeout = TimeSpan.FromMilliseconds(1000) };

    /// <summary>A client connected to the shared daemon of a kind through a relay that the test controls.</summary>
    private sealed class RelayedClient(IDaemonUnderTest daemon, FaultProxy proxy, XenstoreClient client) : IAsyncDisposable
    {
        public IDaemonUnderTest Daemon => daemon;

        public FaultProxy Proxy => proxy;

        public XenstoreClient Client => client;

        public async ValueTask DisposeAsync()
        {
            await client.DisposeAsync();
            await proxy.DisposeAsync();
        }
    }

    /// <summary>Connects with <paramref name="options"/> (their path replaced by the relay's).</summary>
    private async Task<RelayedClient> ConnectThroughProxyAsync(string kind, XenstoreClientOptions? options = null)
    {
        IDaemonUnderTest daemon = await pool.GetAsync(kind);
        var proxy = new FaultProxy(daemon.SocketPath);
        try
        {
            XenstoreClient client = await XenstoreClient.ConnectAsync((options ?? new XenstoreClientOptions()) with { Path = proxy.SocketPath });
            return new RelayedClient(daemon, proxy, client);
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }
        return condition();
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task Timeout_IsTyped_AndTheLateReplyIsAbsorbed(string kind)
    {
        await using RelayedClient relayed = await ConnectThroughProxyAsync(kind, s_shortTimeout);
        (FaultProxy proxy, XenstoreClient client) = (relayed.Proxy, relayed.Client);
        proxy.HoldReplies();
        var timeout = await Assert.ThrowsAsync<XenstoreTimeoutException>(() => client.ReadAsync("/"));
        Assert.True(timeout.WasSent);
        proxy.ReleaseReplies();
        Assert.True(await EventuallyAsync(() => client.Statistics.LateReplies == 1));
        Assert.Equal(0, client.Statistics.InFlight);
        Assert.Equal("", await client.ReadStringAsync("/"));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task LateTransactionStart_IsAbortedSoNothingLeaks(string kind)
    {
        await using RelayedClient relayed = await ConnectThroughProxyAsync(kind, s_shortTimeout);
        (FaultProxy proxy, XenstoreClient client) = (relayed.Proxy, relayed.Client);
        proxy.HoldReplies();
        await Assert.ThrowsAsync<XenstoreTimeoutException>(() => client.BeginTransactionAsync());
        proxy.ReleaseReplies();
        Assert.True(await EventuallyAsync(() =>
            proxy.Requests.Any(r => r.Header.Type == XsMessageType.TransactionEnd && r.Payload.AsSpan().SequenceEqual("F\0"u8))));
        (XsHeader end, _) = proxy.Requests.Single(r => r.Header.Type == XsMessageType.TransactionEnd);
        Assert.NotEqual(0u, end.TxId);
        Assert.True(await EventuallyAsync(() => client.Statistics.InFlight == 0));
        // The id is gone on the daemon: using it now fails.
        (XsMessageType type, byte[] payload) = await client.RequestAsync(XsMessageType.Read, "/\0"u8.ToArray(), end.TxId);
        Assert.Equal(XsMessageType.Error, type);
        Assert.Equal(XsError.ENOENT, XsErrors.Parse(payload));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task CancelledWhileWaitingForASlot_IsNeverSent(string kind)
    {
        await using RelayedClient relayed = await ConnectThroughProxyAsync(kind, new XenstoreClientOptions { MaxInFlight = 1 });
        (FaultProxy proxy, XenstoreClient client) = (relayed.Proxy, relayed.Client);
        proxy.HoldReplies();
        Task<byte[]> first = client.ReadAsync("/");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReadAsync("/tool", cts.Token));
        proxy.ReleaseReplies();
        await first.WaitAsync(s_wait);
        Assert.Single(proxy.Requests);
        Assert.Equal(1, client.Statistics.RequestsSent);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task LostConnection_FailsPendingRequests_WithOutcomeUnknown(string kind)
    {
        await using RelayedClient relayed = await ConnectThroughProxyAsync(kind);
        (FaultProxy proxy, XenstoreClient client) = (relayed.Proxy, relayed.Client);
        proxy.HoldReplies();
        Task<byte[]> pending = client.ReadAsync("/");
        Assert.True(await EventuallyAsync(() => !proxy.Requests.IsEmpty));
        proxy.DropConnections();
        var lost = await Assert.ThrowsAsync<XenstoreConnectionException>(() => pending.WaitAsync(s_wait));
        Assert.True(lost.OutcomeUnknown);
        Assert.False(client.IsConnected);
        var later = await Assert.ThrowsAsync<XenstoreConnectionException>(() => client.ReadAsync("/"));
        Assert.False(later.OutcomeUnknown);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task Reconnect_ReRegistersWatches_AndServesNewRequests(string kind)
    {
        await using RelayedClient relayed = await ConnectThroughProxyAsync(kind, new XenstoreClientOptions
        {
            AutoReconnect = true,
            ReconnectDelayMin = TimeSpan.FromMilliseconds(20),
        });
        (FaultProxy proxy, XenstoreClient client) = (relayed.Proxy, relayed.Client);
        await using XenstoreClient writer = await XenstoreClient.ConnectAsync(relayed.Daemon.SocketPath);
        string root = TestPaths.Unique("reconnect");
        await using XenstoreWatch watch = await client.WatchAsync(root);
        await watch.ReadAsync().AsTask().WaitAsync(s_wait);
        XenstoreTransaction tx = await client.BeginTransactionAsync();

        proxy.DropConnections();
        Assert.True(await EventuallyAsync(() => proxy.Accepted == 2 && client.IsConnected));
        Assert.True(await EventuallyAsync(() => client.Statistics.Reconnects == 1));

        // Re-registration fires the watch once, then changes arrive on the new connection.
        Assert.Equal(root, (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        await writer.WriteAsync(root + "/after", "1");
        Assert.Equal(root + "/after", (await watch.ReadAsync().AsTask().WaitAsync(s_wait))!.Path);
        Assert.Equal("1", Encoding.ASCII.GetString(await client.ReadAsync(root + "/after")));
        // The transaction belonged to the lost connection.
        await Assert.ThrowsAsync<XenstoreConnectionException>(() => tx.WriteAsync(root + "/tx", "x"));
    }
}
