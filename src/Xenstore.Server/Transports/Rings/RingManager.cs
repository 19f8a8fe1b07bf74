using Microsoft.Extensions.Logging;
using Xenstore.Server.Hypervisor;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Reactor;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server.Transports.Rings;

/// <summary>
/// Serves every guest ring on the store thread, as C xenstored does in its one loop: the hypervisor's event
/// descriptor is watched with the sockets, a notification marks its ring ready, and each batch reads the ready
/// rings' requests and executes them at once; after the batch is journalled and published, replies are copied
/// into the rings and each ring is notified once. No request crosses a thread, so a guest's round trip costs one
/// wake-up, like a socket's.
/// Fairness: a batch takes at most <see cref="RequestsPerPass"/> requests (and <see cref="BytesPerPass"/> bytes)
/// from a ring; a ring with more goes to the back of the ready queue and the next batch follows at once, so one
/// busy guest delays another by at most one pass.
/// Notifications coalesce: a ring is queued at most once, however many notifications arrive for it.
/// </summary>
internal sealed class RingManager : IPollable, IDisposable
{
    /// <summary>Requests taken from one ring in one pass (C takes one per loop; a few keep a pipelining guest fast).</summary>
    public const int RequestsPerPass = 16;

    /// <summary>Request bytes taken from one ring in one pass.</summary>
    public const int BytesPerPass = 8192;

    /// <summary>How often rings with queued output are looked at without a notification (guests may not notify).</summary>
    private const int PollMilliseconds = 5;

    /// <summary>How often idle rings are looked at, for a reconnection requested without a notification.</summary>
    private const int IdleMilliseconds = 500;

    /// <summary>Events taken from the hypervisor per readiness (more stay pending and report again).</summary>
    private const int EventsPerWake = 1024;

    private readonly Func<IHypervisor> _openHypervisor;
    private IHypervisor _hypervisor = null!;
    private readonly WorkQueue _queue;
    private readonly DescriptorWatcher _watcher;
    private readonly ILogger _logger;
    private readonly Func<int> _nextConnectionId;
    private readonly Dictionary<uint, RingConnection> _byDomid = [];
    private readonly Dictionary<uint, RingConnection> _byPort = [];
    private readonly Queue<RingConnection> _ready = new();
    private readonly List<RingConnection> _toNotify = [];
    private readonly uint[] _events = new uint[EventsPerWake];
    private readonly int _outputLimit;
    private readonly WriteRateLimit _writeLimit;
    private long _nextSweep;
    private bool _checkDomains;
    private bool _paused;

    /// <summary>The event descriptor's token in the store thread's epoll (sockets use positive ids).</summary>
    private const long EventToken = -2;

    public RingManager(Func<IHypervisor> openHypervisor, WorkQueue queue, DescriptorWatcher watcher, ILogger logger, Func<int> nextConnectionId, int outputLimit, WriteRateLimit writeLimit)
    {
        _outputLimit = outputLimit;
        _writeLimit = writeLimit;
        _openHypervisor = openHypervisor;
        _queue = queue;
        _watcher = watcher;
        _logger = logger;
        _nextConnectionId = nextConnectionId;
    }

    /// <summary>Opens the hypervisor's interfaces (event channels, grant mapping); before the store thread starts.</summary>
    public void Start()
    {
        _hypervisor = _openHypervisor();
        _watcher.Watch(_hypervisor.EventDescriptor, Epoll.In, EventToken, this);
    }

    /// <summary>
    /// Maps and starts serving a domain (store thread). The ring advertises its features before this returns, so
    /// the INTRODUCE reply finds them set; its requests are read once the engine has opened its session.
    /// </summary>
    public void Attach(Store.DomainIntroduction domain)
    {
        try
        {
            DoAttach(domain);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            Log.RingError(_logger, e);
        }
    }

    /// <summary>Stops serving a domain (released, died, a failed request); only if the given session is still current.</summary>
    public void Detach(uint domid, RingSession? session)
    {
        if (!_byDomid.TryGetValue(domid, out RingConnection? ring) || (session is not null && ring.Session != session))
        {
            return;
        }
        Forget(ring);
        if (ring.Session is { } current)
        {
            _queue.Post(StoreWork.Close(current));
        }
    }

    /// <summary>Store thread: the event descriptor is readable.</summary>
    public void OnReady(uint events)
    {
        int count = _hypervisor.TakePendingEvents(_events);
        for (int i = 0; i < count; i++)
        {
            uint port = _events[i];
            if (port == _hypervisor.DomainExceptionPort)
            {
                _checkDomains = true;
            }
            else if (_byPort.TryGetValue(port, out RingConnection? ring))
            {
                MarkReady(ring);
            }
            else
            {
                continue;
            }
            _hypervisor.Unmask(port);
        }
    }

    /// <summary>
    /// The batch's receive step for rings (store thread): domain state changes, the periodic look at rings that
    /// wait for room or for their guest, then one pass over the ready rings, each within its budget.
    /// </summary>
    public void Receive(BatchPipeline pipeline)
    {
        if (_paused)
        {
            return;
        }
        if (_checkDomains)
        {
            _checkDomains = false;
            CheckDomainStates();
        }
        long now = Environment.TickCount64;
        if (now >= _nextSweep)
        {
            foreach (RingConnection ring in _byDomid.Values)
            {
                if (ring.HasPendingOutput || ring.Throttled || ring.WaitingForCredit || ring.ReconnectRequested)
                {
                    MarkReady(ring);
                }
            }
            _nextSweep = now + (_byDomid.Values.Any(r => r.HasPendingOutput || r.Throttled || r.WaitingForCredit) ? PollMilliseconds : IdleMilliseconds);
        }
        for (int pass = _ready.Count; pass > 0 && _ready.TryDequeue(out RingConnection? ring); pass--)
        {
            ring.Queued = false;
            if (ring.Detached)
            {
                continue;
            }
            try
            {
                if (Service(ring, pipeline))
                {
                    MarkReady(ring);
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                Log.RingError(_logger, e);
            }
        }
    }

    /// <summary>A session's output was published (store thread): copy it into the ring; notified at the batch's end.</summary>
    public void Flush(RingConnection ring)
    {
        if (_paused || ring.Detached)
        {
            return;
        }
        if (ring.WriteResponses())
        {
            WantNotify(ring);
        }
        if (ring.Throttled && ring.UndeliveredBytes <= ring.OutputLimit)
        {
            MarkReady(ring);
        }
        LookAgainSoonIfWaiting(ring);
    }

    /// <summary>
    /// A ring whose output did not all fit, or whose requests wait for its output to drain, is looked at again
    /// within the poll interval even if its guest never notifies after reading.
    /// </summary>
    private void LookAgainSoonIfWaiting(RingConnection ring)
    {
        if (ring.HasPendingOutput || ring.Throttled)
        {
            _nextSweep = Math.Min(_nextSweep, Environment.TickCount64 + PollMilliseconds);
        }
        else if (ring.WaitingForCredit && ring.WriteCredit is { } credit)
        {
            long wait = Math.Max(1, (long)_writeLimit.UntilReadable(credit).TotalMilliseconds);
            _nextSweep = Math.Min(_nextSweep, Environment.TickCount64 + wait);
        }
    }

    /// <summary>The number of transactions open in the store (set once the engine exists).</summary>
    public Func<int> OpenTransactions { get; set; } = static () => 0;

    /// <summary>
    /// Whether a limited guest's next request may run now (XSA-206): not while its credit is spent; a write made
    /// while a transaction is open (another one, for a commit) is charged.
    /// </summary>
    internal bool MayExecute(RingConnection ring, WriteCredit credit, XsHeader header, ReadOnlySpan<byte> payload)
    {
        if (credit.Balance < 0 && _writeLimit.MustWait(credit))
        {
            if (credit.Waits++ == 0)
            {
                Log.WriteRateLimited(_logger, ring.Domid, _writeLimit.WritesPerSecond, _writeLimit.Burst);
            }
            return false;
        }
        bool charged = header.Type switch
        {
            XsMessageType.Write or XsMessageType.Mkdir or XsMessageType.Rm or XsMessageType.SetPerms =>
                header.TxId == 0 && OpenTransactions() > 0,
            XsMessageType.TransactionEnd => payload.Length > 0 && payload[0] == (byte)'T' && OpenTransactions() > 1,
            _ => false,
        };
        if (charged)
        {
            _writeLimit.Charge(credit);
        }
        return true;
    }

    /// <summary>The batch's last step: one notification per ring that moved data in this batch.</summary>
    public void NotifyTouched()
    {
        foreach (RingConnection ring in _toNotify)
        {
            ring.NotifyWanted = false;
            if (!ring.Detached)
            {
                _hypervisor.Notify(ring.LocalPort);
            }
        }
        _toNotify.Clear();
    }

    /// <summary>How long the store thread may sleep before rings need looking at again: 0 while rings are ready.</summary>
    public int WaitMilliseconds()
    {
        if (_paused || _byDomid.Count == 0)
        {
            return -1;
        }
        if (_ready.Count > 0 || _checkDomains)
        {
            return 0;
        }
        return (int)Math.Clamp(_nextSweep - Environment.TickCount64, 0, IdleMilliseconds);
    }

    private void MarkReady(RingConnection ring)
    {
        if (!ring.Queued && !ring.Detached)
        {
            ring.Queued = true;
            _ready.Enqueue(ring);
        }
    }

    private void WantNotify(RingConnection ring)
    {
        if (!ring.NotifyWanted)
        {
            ring.NotifyWanted = true;
            _toNotify.Add(ring);
        }
    }

    private void DoAttach(Store.DomainIntroduction attach)
    {
        if (_byDomid.ContainsKey(attach.Domid))
        {
            // Re-introduction: a fresh mapping and event channel, and a fresh session.
            Detach(attach.Domid, null);
        }
        GuestPage page = _hypervisor.MapPage(attach.Domid, attach.Gfn);
        uint localPort = _hypervisor.BindInterdomain(attach.Domid, attach.EventChannel);
        var ring = new RingConnection(this, attach.Domid, localPort, page, attach.OutstandingLimit, _outputLimit);
        if (_writeLimit.Enabled && !attach.Privileged)
        {
            ring.WriteCredit = _writeLimit.NewAccount();
        }
        ring.Advertise(attach.Features);
        _byDomid[attach.Domid] = ring;
        _byPort[localPort] = ring;
        // The guest goes on where it was (its watches and transactions are taken over after a restart) unless it
        // asked for a reconnection meanwhile.
        ConnectionKind kind = ring.ReconnectRequested ? ConnectionKind.Ring : ConnectionKind.ResumedRing;
        if (ring.ReconnectRequested)
        {
            ring.Reset();
            _hypervisor.Notify(localPort);
        }
        StartSession(ring, attach.Privileged, attach.WatchEventLimit, kind);
        _nextSweep = 0;
    }

    /// <summary>
    /// A new session: the engine opens it with the queued work, and only then is the ring read (what the guest
    /// wrote before its introduction included).
    /// </summary>
    private void StartSession(RingConnection ring, bool privileged, int eventLimit, ConnectionKind kind)
    {
        var session = new RingSession(_nextConnectionId(), ring, privileged, eventLimit, kind);
        ring.Session = session;
        _queue.Post(StoreWork.Open(session));
        _queue.Post(StoreWork.Run(_ => MarkReady(ring)));
    }

    private void Forget(RingConnection ring)
    {
        ring.Detached = true;
        _byDomid.Remove(ring.Domid);
        _byPort.Remove(ring.LocalPort);
        _hypervisor.Unbind(ring.LocalPort);
        // Unmapped after the current pass: the ring being serviced may be the one a request detached.
        _queue.Post(StoreWork.Run(_ => ring.Page.Dispose()));
    }

    /// <summary>
    /// Makes the progress a ring's budget allows: reconnection, replies out, requests in (executed at once).
    /// Returns whether it has more requests to give.
    /// </summary>
    private bool Service(RingConnection ring, BatchPipeline pipeline)
    {
        if (ring.ReconnectRequested && ring.Session is { } old)
        {
            _queue.Post(StoreWork.Close(old));
            ring.Reset();
            StartSession(ring, old.Privileged, old.Output.EventLimit, ConnectionKind.Ring);
            WantNotify(ring);
            return false;
        }
        if (ring.Ignored)
        {
            // Broken until it reconnects: its notifications cost nothing more.
            return false;
        }
        RingSession? session = ring.Session;
        // Replies out first: a guest that read its replies makes room for its next requests.
        bool progress = ring.WriteResponses();
        (bool consumed, bool more) = ring.ReadRequests(pipeline, RequestsPerPass, BytesPerPass);
        if (ring.Ignored && session is not null)
        {
            // The guest broke the protocol: its watches and transactions go, its domain stays (XSA-325).
            Log.RingIgnored(_logger, ring.Domid);
            _queue.Post(StoreWork.Close(session));
        }
        if (progress || consumed || ring.Ignored)
        {
            WantNotify(ring);
        }
        LookAgainSoonIfWaiting(ring);
        return more;
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

    /// <summary>
    /// Live update: stop touching the rings (pausing), or service them again after a failed update. A paused daemon
    /// also stops taking notifications: the successor serves the same event channels, and a notification this
    /// daemon took and dropped would leave a guest that waits for its reply waiting for good. Left pending, it
    /// reaches whichever daemon serves next.
    /// </summary>
    public Task SetPausedAsync(bool paused) => _queue.InvokeAsync(_ =>
    {
        if (paused == _paused)
        {
            return true;
        }
        _paused = paused;
        if (paused)
        {
            _watcher.Unwatch(_hypervisor.EventDescriptor, EventToken);
        }
        else
        {
            _watcher.Watch(_hypervisor.EventDescriptor, Epoll.In, EventToken, this);
            foreach (RingConnection ring in _byDomid.Values)
            {
                MarkReady(ring);
            }
        }
        return true;
    });

    /// <summary>Live update: every ring's unparsed input and unsent output (taken out of the rings' buffers).</summary>
    public Task<Dictionary<uint, (byte[] Input, byte[] Output)>> TakeBuffersAsync() =>
        _queue.InvokeAsync(_ => _byDomid.ToDictionary(p => p.Key, p => p.Value.TakeBuffers()));

    /// <summary>Live update: puts carried-over buffers back into a ring (new daemon, or a failed update).</summary>
    public Task SeedBuffersAsync(uint domid, byte[] input, byte[] output) => _queue.InvokeAsync(_ =>
    {
        if (_byDomid.TryGetValue(domid, out RingConnection? ring))
        {
            ring.SeedBuffers(input, output);
            MarkReady(ring);
        }
        return true;
    });

    /// <summary>After the store thread has stopped: nothing touches the rings any more.</summary>
    public void Dispose()
    {
        foreach (RingConnection ring in _byDomid.Values)
        {
            ring.Page.Dispose();
        }
        _byDomid.Clear();
        _hypervisor?.Dispose();
    }
}
