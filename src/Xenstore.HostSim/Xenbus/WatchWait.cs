using Xenstore.Client;
using Xenstore.HostSim.Run;

namespace Xenstore.HostSim.Xenbus;

/// <summary>
/// libxl's waits (devstate, xswait): watch a path and re-read it after every event until a condition holds. The
/// condition is first evaluated after the watch's initial event, so a watch that never fires is caught.
/// </summary>
internal static class WatchWait
{
    /// <returns>The value that satisfied the condition (null for a missing node).</returns>
    public static async Task<string?> UntilAsync(XenstoreClient client, RunCounters counters, string path, string expected,
        Func<string?, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        XenstoreWatch watch = await client.WatchAsync(path, cancellationToken).ConfigureAwait(false);
        await using (((IAsyncDisposable)watch).ConfigureAwait(false))
        {
            string? last = null;
            bool fired = false;
            while (true)
            {
                try
                {
                    if (await watch.ReadAsync(deadline.Token).ConfigureAwait(false) is null)
                    {
                        throw new XenstoreConnectionException($"the watch on {path} ended");
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new WatchTimeoutException(path, expected, last ?? "(none)", fired);
                }
                fired = true;
                counters.AddEvent();
                last = await XenbusOps.ReadOrNullAsync(client, path, cancellationToken).ConfigureAwait(false);
                if (condition(last))
                {
                    return last;
                }
            }
        }
    }
}
