using Microsoft.Extensions.Logging;
using Xenstore.Server.Reactor;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// The store thread's epoll: the descriptors it serves (the listening socket, client sockets, the hypervisor's
/// event channel) and the wake-up
/// other threads use. A wait dispatches each ready descriptor to its owner, on the store thread.
/// </summary>
internal sealed class DescriptorWatcher : IDisposable
{
    private readonly Epoll _epoll = new();
    private readonly Dictionary<long, IPollable> _pollables = [];
    private readonly Action<long, uint> _onReady;
    private readonly ILogger _logger;
    private bool _woken;

    public DescriptorWatcher(ILogger logger)
    {
        _logger = logger;
        _onReady = OnReady;
    }

    /// <summary>Watches a descriptor; events arrive at <see cref="IPollable.OnReady"/> (store thread).</summary>
    public void Watch(int descriptor, uint events, long token, IPollable pollable)
    {
        _pollables[token] = pollable;
        _epoll.Add(descriptor, events, token);
    }

    /// <summary>Changes the events watched on a descriptor (store thread).</summary>
    public void Rewatch(int descriptor, uint events, long token) => _epoll.Modify(descriptor, events, token);

    /// <summary>Stops watching a descriptor (store thread); its token is never reported again.</summary>
    public void Unwatch(int descriptor, long token)
    {
        if (_pollables.Remove(token))
        {
            _epoll.Remove(descriptor);
        }
    }

    /// <summary>Ends the current or next wait (any thread).</summary>
    public void Wake() => _epoll.Wake();

    /// <summary>
    /// Waits for readiness (at most <paramref name="timeoutMs"/>, -1 for no limit) and dispatches it; returns whether
    /// a wake-up was among the events.
    /// </summary>
    public bool WaitAndDispatch(int timeoutMs = -1)
    {
        _woken = false;
        _epoll.Wait(_onReady, timeoutMs);
        return _woken;
    }

    private void OnReady(long token, uint events)
    {
        if (token == Epoll.WakeToken)
        {
            _woken = true;
        }
        else if (_pollables.TryGetValue(token, out IPollable? pollable))
        {
            try
            {
                pollable.OnReady(events);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One socket's failure (a descriptor gone under us, say) must not stop the store thread.
                Log.StoreError(_logger, e);
                (pollable as IClientConnection)?.Abort("internal error");
            }
        }
    }

    public void Dispose() => _epoll.Dispose();
}
