using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

/// <summary>
/// A daemon busy with many clients connecting at once can have its listen backlog full: a Unix socket connect then
/// fails with EAGAIN at once. The client waits and retries instead of failing a connection that would have been
/// accepted a moment later.
/// </summary>
public sealed class ListenBacklogTests
{
    [Fact]
    public async Task Connect_WaitsOutAFullListenBacklog()
    {
        using var listener = new FullBacklogListener();

        Task<XenstoreClient> connecting = XenstoreClient.ConnectAsync(listener.Path);
        await Task.Delay(100);
        Assert.False(connecting.IsCompleted, "the connect gave up (or got in) while the backlog was full");

        // The daemon catches up: the client's retry is accepted.
        int waiting = listener.Waiting;
        Assert.Equal(waiting + 1, await listener.AcceptAllAsync(more: 1, TimeSpan.FromSeconds(5)));
        await using XenstoreClient client = await connecting.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
