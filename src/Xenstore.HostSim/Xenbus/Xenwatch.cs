using System.Threading.Channels;
using Xenstore.Client;
using Xenstore.HostSim.Run;

namespace Xenstore.HostSim.Xenbus;

/// <summary>
/// A kernel's xenwatch thread: every watch of one party queues its events here and one loop runs the callbacks,
/// one at a time, as Linux does. Callbacks may issue requests and (un)register watches, never wait for an event.
/// </summary>
internal sealed class Xenwatch : IAsyncDisposable
{
    private readonly XenstoreClient _client;
    private readonly RunCounters _counters;
    private readonly Deviations _deviations;
    private readonly string _party;
    private readonly Channel<(WatchHandle Handle, string Path)> _queue = Channel.CreateUnbounded<(WatchHandle, string)>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private readonly Func<Exception, bool> _isOutage;

    public Xenwatch(XenstoreClient client, RunCounters counters, Deviations deviations, string party,
        Func<Exception, bool>? isOutage = null)
    {
        _isOutage = isOutage ?? (_ => false);
        _client = client;
        _counters = counters;
        _deviations = deviations;
        _party = party;
        _loop = Task.Run(RunAsync);
    }

    public CancellationToken Stopping => _stop.Token;

    public bool IsStopping => _stop.IsCancellationRequested;

    /// <summary>Registers a watch; its events run <paramref name="callback"/> with the event's path.</summary>
    public async Task<WatchHandle> RegisterAsync(string path, Func<string, Task> callback)
    {
        XenstoreWatch watch = await _client.WatchAsync(path, _stop.Token).ConfigureAwait(false);
        var handle = new WatchHandle(watch, callback);
        handle.Pump = Task.Run(async () =>
        {
            try
            {
                await foreach (XenstoreWatchEvent e in watch.WithCancellation(_stop.Token).ConfigureAwait(false))
                {
                    _counters.AddEvent();
                    _queue.Writer.TryWrite((handle, e.Path));
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (XenstoreException) when (IsStopping)
            {
            }
        });
        return handle;
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach ((WatchHandle handle, string path) in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                if (!handle.Active)
                {
                    continue;
                }
                if (Environment.GetEnvironmentVariable("HOSTSIM_TRACE") is not null)
                {
                    Console.Error.WriteLine($"{_party}: event {path}");
                }
                try
                {
                    await handle.Callback(path).ConfigureAwait(false);
                }
                catch (Exception e) when (IsStopping && e is XenstoreException or OperationCanceledException or ObjectDisposedException)
                {
                    // The party is going away (a paused or dying guest, the end of the run).
                }
                catch (XenstoreException e) when (_isOutage(e))
                {
                    // The daemon is being restarted: the watch fires again once reconnected and this runs again.
                }
                catch (XenstoreException e)
                {
                    _deviations.Add(path, $"{_party}: watch callback failed", e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops running callbacks (the connection is closed by its owner).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}

/// <summary>One registered watch of a <see cref="Xenwatch"/>.</summary>
internal sealed class WatchHandle(XenstoreWatch watch, Func<string, Task> callback) : IAsyncDisposable
{
    private int _disposed;

    public Func<string, Task> Callback { get; } = callback;

    public bool Active => Volatile.Read(ref _disposed) == 0;

    public Task Pump { get; set; } = Task.CompletedTask;

    /// <summary>Unregisters (XS_UNWATCH) and drops the events still queued.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                await watch.DisposeAsync().ConfigureAwait(false);
            }
            catch (XenstoreException)
            {
                // The connection is gone, and the daemon dropped the watch with it.
            }
        }
    }
}
