using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Client;

public sealed partial class XenstoreClient
{
    /// <summary>
    /// Watches <paramref name="path"/> (a node, or <c>@introduceDomain</c> / <c>@releaseDomain</c>) and everything
    /// below it. The first event arrives at once: the daemon fires every new watch.
    /// </summary>
    public async Task<XenstoreWatch> WatchAsync(string path, CancellationToken cancellationToken = default)
    {
        Internal.Payload.ValidatePath(path, allowSpecial: true, "watch");
        var watch = new XenstoreWatch(this, _watches.Create());
        try
        {
            await watch.AddPathAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _watches.Remove(watch.Subscription);
            throw;
        }
        return watch;
    }

    /// <summary>
    /// Watches several paths through one token and one queue, so their events come out in the order the daemon
    /// sent them (what <c>xenstore-watch a b</c> needs).
    /// </summary>
    public async Task<XenstoreWatch> WatchAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        foreach (string path in paths)
        {
            Internal.Payload.ValidatePath(path, allowSpecial: true, "watch");
        }
        var watch = new XenstoreWatch(this, _watches.Create());
        try
        {
            foreach (string path in paths)
            {
                await watch.AddPathAsync(path, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await watch.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return watch;
    }

    internal async Task RegisterWatchPathAsync(WatchSubscription subscription, string path, CancellationToken cancellationToken)
    {
        Internal.Payload.ValidatePath(path, allowSpecial: true, "watch");
        // Known before the WATCH is sent: its first event may overtake the reply.
        subscription.AddPath(path);
        try
        {
            await CallAsync(XsMessageType.Watch, Internal.Payload.Strings("watch", path, subscription.Token), "watch", path,
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            subscription.RemovePath(path);
            throw;
        }
    }

    internal async Task UnregisterWatchAsync(WatchSubscription subscription)
    {
        try
        {
            if (!_disposed.IsCancellationRequested && IsConnected)
            {
                foreach (string path in subscription.Paths)
                {
                    try
                    {
                        await CallAsync(XsMessageType.Unwatch, Internal.Payload.Strings("unwatch", path, subscription.Token),
                            "unwatch", path, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (XenstoreErrorException e) when (e.Error == XsError.ENOENT)
                    {
                        // Already gone (e.g. reset by the daemon): nothing to undo.
                    }
                }
            }
        }
        catch (XenstoreConnectionException)
        {
            // The daemon drops a connection's watches with it.
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            _watches.Remove(subscription);
            subscription.Queue.Complete(null);
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> returns true. The condition reads through the reader it is given;
    /// every path it reads is watched, and it runs again after any of them changes (the <c>wait</c> primitive of
    /// ocaml-xenstore). Missing nodes count as read, so the condition may wait for a node to appear.
    /// </summary>
    public async Task WaitUntilAsync(Func<IXenstoreReader, CancellationToken, Task<bool>> condition,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var watch = new XenstoreWatch(this, _watches.Create());
        await using (((IAsyncDisposable)watch).ConfigureAwait(false))
        {
            var watched = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                var recorder = new RecordingReader(this);
                if (await condition(recorder, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
                foreach (string path in recorder.Paths)
                {
                    if (watched.Add(path))
                    {
                        await watch.AddPathAsync(path, cancellationToken).ConfigureAwait(false);
                    }
                }
                if (await watch.ReadAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    throw new XenstoreConnectionException("the watch ended while waiting");
                }
                // One re-evaluation covers every change queued so far.
                watch.ClearQueued();
            }
        }
    }
}
