using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// The client's watches by token. Lives across reconnections. Events for tokens it does not know (a watch just
/// removed, another client's stale registration) are normal: dropped and counted, never fatal.
/// </summary>
internal sealed class WatchRegistry : IWatchEventSink
{
    private readonly ConcurrentDictionary<string, WatchSubscription> _byToken = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly bool _coalesce;
    private long _nextToken;

    public WatchRegistry(int capacity, bool coalesce)
    {
        _capacity = capacity;
        _coalesce = coalesce;
    }

    public ClientCounters Counters { get; } = new();

    /// <summary>Creates and registers a subscription with a token unique within this client.</summary>
    public WatchSubscription Create()
    {
        string token = "xsnet:" + Interlocked.Increment(ref _nextToken).ToString(CultureInfo.InvariantCulture);
        var subscription = new WatchSubscription(token, new WatchQueue(_capacity, Counters, _coalesce));
        _byToken[token] = subscription;
        return subscription;
    }

    public void Remove(WatchSubscription subscription) => _byToken.TryRemove(subscription.Token, out _);

    public void OnWatchEvent(ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul < 0)
        {
            Interlocked.Increment(ref Counters.UnknownWatchEvents);
            return;
        }
        ReadOnlySpan<byte> rest = payload[(nul + 1)..];
        int tokenEnd = rest.IndexOf((byte)0);
        string token = Encoding.UTF8.GetString(tokenEnd >= 0 ? rest[..tokenEnd] : rest);
        if (!_byToken.TryGetValue(token, out WatchSubscription? subscription))
        {
            Interlocked.Increment(ref Counters.UnknownWatchEvents);
            return;
        }
        subscription.Queue.Post(Encoding.UTF8.GetString(payload[..nul]));
    }

    public void CompleteAll(Exception? error)
    {
        foreach (WatchSubscription subscription in _byToken.Values)
        {
            subscription.Queue.Complete(error);
        }
    }

    /// <summary>Registers every watch again on a new connection; each fires once, which tells its consumer to re-read.</summary>
    public async Task ReregisterAllAsync(Connection connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        foreach (WatchSubscription subscription in _byToken.Values)
        {
            foreach (string path in subscription.Paths)
            {
                Reply reply = await connection.RequestAsync(XsMessageType.Watch, 0,
                    Payload.Strings("watch", path, subscription.Token), timeout, () => default, cancellationToken)
                    .ConfigureAwait(false);
                if (reply.Type == XsMessageType.Error && XsErrors.Parse(reply.Payload) != XsError.EEXIST)
                {
                    subscription.Queue.Complete(XenstoreErrorException.Create(XsErrors.Parse(reply.Payload), "watch", path));
                }
            }
        }
    }
}
