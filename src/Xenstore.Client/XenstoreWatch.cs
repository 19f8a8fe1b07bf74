using Xenstore.Client.Internal;

namespace Xenstore.Client;

/// <summary>
/// A registered watch: an async stream of <see cref="XenstoreWatchEvent"/>. Dispose it to unregister. One consumer
/// at a time; a slow consumer never blocks the connection or other watches (its queue coalesces, then overflows).
/// </summary>
public sealed class XenstoreWatch : IAsyncEnumerable<XenstoreWatchEvent>, IAsyncDisposable
{
    private readonly XenstoreClient _client;
    private readonly WatchSubscription _subscription;
    private int _disposed;

    internal XenstoreWatch(XenstoreClient client, WatchSubscription subscription)
    {
        _client = client;
        _subscription = subscription;
    }

    /// <summary>The token this watch was registered with (unique within its client).</summary>
    public string Token => _subscription.Token;

    /// <summary>The watched paths.</summary>
    public IReadOnlyList<string> Paths => _subscription.Paths;

    /// <summary>Events queued and not yet read.</summary>
    public int Pending => _subscription.Queue.Count;

    internal WatchSubscription Subscription => _subscription;

    /// <summary>
    /// Waits for the next event. Returns null once the watch is disposed; throws
    /// <see cref="XenstoreConnectionException"/> if the connection was lost and is not coming back.
    /// </summary>
    public async ValueTask<XenstoreWatchEvent?> ReadAsync(CancellationToken cancellationToken = default)
    {
        (string? path, bool overflow) = await _subscription.Queue.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (overflow)
        {
            string[] paths = _subscription.Paths;
            return new XenstoreWatchEvent(paths.Length > 0 ? paths[0] : "", Token, IsOverflow: true);
        }
        return path is null ? null : new XenstoreWatchEvent(path, Token);
    }

    /// <inheritdoc />
    public async IAsyncEnumerator<XenstoreWatchEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } watchEvent)
        {
            yield return watchEvent;
        }
    }

    internal Task AddPathAsync(string path, CancellationToken cancellationToken) =>
        _client.RegisterWatchPathAsync(_subscription, path, cancellationToken);

    internal void ClearQueued() => _subscription.Queue.Clear();

    /// <summary>Unregisters the watch (UNWATCH) and ends the stream. Events still in flight are dropped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _client.UnregisterWatchAsync(_subscription).ConfigureAwait(false);
        }
    }
}
