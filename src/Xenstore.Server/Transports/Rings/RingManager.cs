using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xenstore.Server.Hypervisor;
using Xenstore.Server.Pipeline;
using Xenstore.Store;

namespace Xenstore.Server.Transports.Rings;

/// <summary>
/// Serves every guest ring from one thread: hypervisor events, output flushes and attach/detach requests arrive
/// as work items, so a ring is only ever touched by this thread. Requests go to the store thread like socket
/// requests do; domain death (VIRQ_DOM_EXC) becomes a release on the store thread.
/// </summary>
internal sealed class RingManager : IDisposable
{
    /// <summary>How often rings with queued output are looked at without a notification (guests may not notify).</summary>
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>How often idle rings are looked at, for a reconnection requested without a notification.</summary>
    private static readonly TimeSpan s_idleInterval = TimeSpan.FromMilliseconds(500);

    private readonly Func<IHypervisor> _openHypervisor;
    private IHypervisor _hypervisor = null!;
    private readonly WorkQueue _queue;
    private readonly ILogger _logger;
    private readonly Func<int> _nextConnectionId;
    private readonly BlockingCollection<RingWork> _work = [];
    private readonly Dictionary<uint, RingConnection> _byDomid = [];
    private readonly Dictionary<uint, RingConnection> _byPort = [];

    // Event channels work with one pending bit per port: a port already waiting to be handled is not queued again,
    // and a port nobody is bound to is dropped, so a storm of notifications costs no memory.
    private readonly ConcurrentDictionary<uint, byte> _boundPorts = new();
    private readonly ConcurrentDictionary<uint, byte> _pendingPorts = new();
    private readonly int _outputLimit;
    private readonly Thread _eventThread;
    private readonly Thread _worker;
    private volatile bool _stopping;
    private bool _paused;

    public RingManager(Func<IHypervisor> openHypervisor, WorkQueue queue, ILogger logger, Func<int> nextConnectionId, int outputLimit)
    {
        _outputLimit = outputLimit;
        _openHypervisor = openHypervisor;
        _queue = queue;
        _logger = logger;
        _nextConnectionId = nextConnectionId;
        _eventThread = new Thread(EventLoop) { Name = "xs-events", IsBackground = true };
        _worker = new Thread(WorkLoop) { Name = "xs-rings", IsBackground = true };
    }

    /// <summary>Opens the hypervisor's interfaces (event channels, grant mapping) and starts serving.</summary>
    public void Start()
    {
        _hypervisor = _openHypervisor();
        _eventThread.Start();
        _worker.Start();
    }

    /// <summary>
    /// Maps and starts serving a domain, and waits until that is done, so that the INTRODUCE reply is sent only when
    /// the ring already advertises its features. The ring thread never waits for the store thread, so this cannot
    /// deadlock.
    /// </summary>
    public void Attach(Store.DomainIntroduction domain)
    {
        // Not disposed: after a timeout the ring thread may still set it.
        var done = new ManualResetEventSlim();
        _work.Add(new RingWork.Attach(domain, done));
        done.Wait(TimeSpan.FromSeconds(10));
    }

    public void Detach(uint domid, RingSession? session) => _work.Add(new RingWork.Detach(domid, session));

    public void Wake(RingConnection ring) => _work.Add(new RingWork.Wake(ring));

    private void EventLoop()
    {
        while (!_stopping)
        {
            uint? port = _hypervisor.WaitForEvent();
            if (port is null)
            {
                return;
            }
            uint pending = port.Value;
            if ((pending == _hypervisor.DomainExceptionPort || _boundPorts.ContainsKey(pending)) && _pendingPorts.TryAdd(pending, 0))
            {
                _work.Add(new RingWork.Event(pending));
            }
        }
    }

    private void WorkLoop()
    {
        while (!_stopping)
        {
            // Poll only while some guest has output it has not taken yet; otherwise sleep until work arrives.
            bool anyPending = _byDomid.Values.Any(r => r.HasPendingOutput);
            if (_work.TryTake(out RingWork? work, anyPending ? s_pollInterval : s_idleInterval))
            {
                Handle(work);
                continue;
            }
            foreach (RingConnection ring in _paused ? Enumerable.Empty<RingConnection>() : _byDomid.Values)
            {
                if (ring.HasPendingOutput || ring.ReconnectRequested)
                {
                    Service(ring);
                }
            }
        }
    }

    private void Handle(RingWork work)
    {
        if (work is RingWork.Event { Port: var handled })
        {
            // Cleared before handling: a notification from now on is a new one.
            _pendingPorts.TryRemove(handled, out _);
        }
        if (work is RingWork.Call call)
        {
            call.Action();
            return;
        }
        if (_paused)
        {
            // A live update is under way: the next daemon services the rings from where they are.
            return;
        }
        try
        {
            switch (work)
            {
                case RingWork.Event { Port: var port } when port == _hypervisor.DomainExceptionPort:
                    _hypervisor.Unmask(port);
                    CheckDomainStates();
                    break;
                case RingWork.Event { Port: var port }:
                    _hypervisor.Unmask(port);
                    if (_byPort.TryGetValue(port, out RingConnection? notified))
                    {
                        Service(notified);
                    }
                    break;
                case RingWork.Attach attach:
                    try
                    {
                        DoAttach(attach.Domain);
                    }
                    finally
                    {
                        attach.Done.Set();
                    }
                    break;
                case RingWork.Detach detach:
                    DoDetach(detach);
                    break;
                case RingWork.Wake { Ring: var ring }:
                    if (_byDomid.TryGetValue(ring.Domid, out RingConnection? current) && current == ring)
                    {
                        Service(ring);
                    }
                    break;
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            Log.RingError(_logger, e);
        }
    }

    private void DoAttach(Store.DomainIntroduction attach)
    {
        if (_byDomid.TryGetValue(attach.Domid, out RingConnection? existing))
        {
            // Re-introduction: keep the connection, rebind the event channel.
            _byPort.Remove(existing.LocalPort);
            _boundPorts.TryRemove(existing.LocalPort, out _);
            _hypervisor.Unbind(existing.LocalPort);
            existing.Page.Dispose();
            _byDomid.Remove(attach.Domid);
            if (existing.Session is { } oldSession)
            {
                _queue.Post(StoreWork.Close(oldSession));
            }
        }
        GuestPage page = _hypervisor.MapPage(attach.Domid, attach.Gfn);
        uint localPort = _hypervisor.BindInterdomain(attach.Domid, attach.EventChannel);
        var ring = new RingConnection(this, attach.Domid, localPort, page, attach.OutstandingLimit, _outputLimit);
        ring.Advertise(attach.Features);
        _byDomid[attach.Domid] = ring;
        _byPort[localPort] = ring;
        _boundPorts[localPort] = 0;
        // The guest goes on where it was (its watches and transactions are taken over after a restart) unless it
        // asked for a reconnection meanwhile.
        StartSession(ring, attach.Privileged, attach.WatchEventLimit,
            ring.ReconnectRequested ? ConnectionKind.Ring : ConnectionKind.ResumedRing);
        if (ring.ReconnectRequested)
        {
            ring.Reset();
            _hypervisor.Notify(localPort);
        }
        Service(ring);
    }

    private void StartSession(RingConnection ring, bool privileged, int eventLimit, ConnectionKind kind)
    {
        var session = new RingSession(_nextConnectionId(), ring, privileged, eventLimit, kind);
        ring.Session = session;
        _queue.Post(StoreWork.Open(session));
    }

    private void DoDetach(RingWork.Detach detach)
    {
        if (!_byDomid.TryGetValue(detach.Domid, out RingConnection? ring)
            || (detach.Session is not null && ring.Session != detach.Session))
        {
            return;
        }
        _byDomid.Remove(detach.Domid);
        _byPort.Remove(ring.LocalPort);
        _boundPorts.TryRemove(ring.LocalPort, out _);
        _hypervisor.Unbind(ring.LocalPort);
        ring.Page.Dispose();
        if (ring.Session is { } session)
        {
            _queue.Post(StoreWork.Close(session));
        }
    }

    /// <summary>Makes all the progress a ring allows: reconnection, requests in, responses out, then one notify.</summary>
    private void Service(RingConnection ring)
    {
        if (ring.ReconnectRequested && ring.Session is { } old)
        {
            _queue.Post(StoreWork.Close(old));
            ring.Reset();
            StartSession(ring, old.Privileged, old.Output.EventLimit, ConnectionKind.Ring);
            _hypervisor.Notify(ring.LocalPort);
            return;
        }
        if (ring.Ignored)
        {
            // Broken until it reconnects: its notifications cost nothing more.
            return;
        }
        RingSession? session = ring.Session;
        // Replies out first: a guest that read its replies makes room for its next requests.
        bool progress = ring.WriteResponses();
        progress |= ring.ReadRequests((header, payload) =>
        {
            session!.RequestPosted();
            _queue.Post(StoreWork.Request(session, header, payload));
        });
        if (ring.Ignored && session is not null)
        {
            // The guest broke the protocol: its watches and transactions go, its domain stays (XSA-325).
            Log.RingIgnored(_logger, ring.Domid);
            _queue.Post(StoreWork.Close(session));
        }
        if (progress || ring.Ignored)
        {
            _hypervisor.Notify(ring.LocalPort);
        }
    }

    private void CheckDomainStates()
    {
        foreach (uint domid in _byDomid.Keys.ToArray())
        {
            DomainState state = _hypervisor.GetDomainState(domid);
            if (state is DomainState.Dying or DomainState.Gone)
            {
                _queue.Post(StoreWork.Run(engine => engine.Domains.Release(domid)));
            }
            else if (state == DomainState.Shutdown)
            {
                _queue.Post(StoreWork.Run(engine => engine.Domains.Shutdown(domid)));
            }
        }
    }

    /// <summary>The domains the hypervisor knows now (the Xenstore domain introduces them at start).</summary>
    public IReadOnlyList<uint> ExistingDomains() => _hypervisor.ExistingDomains();

    /// <summary>Runs an action on the ring thread and waits for it.</summary>
    public Task<T> InvokeAsync<T>(Func<T> action)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(new RingWork.Call(() =>
        {
            try
            {
                done.SetResult(action());
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                done.SetException(e);
            }
        }));
        return done.Task;
    }

    /// <summary>Live update: stop touching the rings (pausing), or service them again after a failed update.</summary>
    public Task SetPausedAsync(bool paused) => InvokeAsync(() =>
    {
        _paused = paused;
        foreach (RingConnection ring in _byDomid.Values)
        {
            if (!paused)
            {
                Service(ring);
            }
        }
        return true;
    });

    /// <summary>Live update: every ring's unparsed input and unsent output (taken out of the rings' buffers).</summary>
    public Task<Dictionary<uint, (byte[] Input, byte[] Output)>> TakeBuffersAsync() =>
        InvokeAsync(() => _byDomid.ToDictionary(p => p.Key, p => p.Value.TakeBuffers()));

    /// <summary>Live update: puts carried-over buffers back into a ring (new daemon, or a failed update).</summary>
    public Task SeedBuffersAsync(uint domid, byte[] input, byte[] output) => InvokeAsync(() =>
    {
        if (_byDomid.TryGetValue(domid, out RingConnection? ring))
        {
            ring.SeedBuffers(input, output);
            Service(ring);
        }
        return true;
    });

    public void Dispose()
    {
        _stopping = true;
        // The worker may be in the middle of servicing a ring: it stops before the hypervisor's handles close,
        // and closing them ends the event thread's wait.
        _work.Add(new RingWork.Event(uint.MaxValue));
        if (_worker.IsAlive)
        {
            _worker.Join(TimeSpan.FromSeconds(5));
        }
        _hypervisor?.Dispose();
        if (_eventThread.IsAlive)
        {
            _eventThread.Join(TimeSpan.FromSeconds(5));
        }
        foreach (RingConnection ring in _byDomid.Values)
        {
            ring.Page.Dispose();
        }
        _work.Dispose();
    }
}
