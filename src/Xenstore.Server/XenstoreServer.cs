using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Xenstore.Server.Accounting;
using Xenstore.Server.Hypervisor;
using Xenstore.Server.LiveUpdate;
using Xenstore.Server.Persistence;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Reactor;
using Xenstore.Server.Transports.Memory;
using Xenstore.Server.Transports.Rings;
using Xenstore.Server.Transports.Sockets;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// The daemon without its command line, and its composition root: every part is built here, in dependency order,
/// from constructor parameters only; nothing is wired afterwards. Construction does no I/O: recovery, binding the
/// socket, adopting a predecessor's sockets and opening the hypervisor happen in <see cref="StartAsync"/>.
/// docs/ARCHITECTURE.md draws the result.
/// </summary>
public sealed class XenstoreServer : IAsyncDisposable
{
    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    private readonly StateStore? _state;
    private readonly ServerMetrics _metrics;
    private readonly DescriptorWatcher _watcher;
    private readonly WorkQueue _queue;
    private readonly SocketIoBatch _io;
    private readonly EngineOutputRouter _output;
    private readonly RingManager? _rings;
    private readonly LiveUpdateRequests _liveUpdateRequests;
    private readonly XenstoreEngine _engine;
    private readonly BatchPipeline _pipeline;
    private readonly StoreThread _storeThread;
    private readonly UnixSocketListener? _listener;
    private readonly LiveUpdateCoordinator? _liveUpdate;
    private readonly HandoverReceiver? _handover;
    private readonly MetricsEndpoint? _metricsEndpoint;
    private readonly TraceFile? _traceFile;
    /// <summary>A server without a socket hands nothing over: its HandedOver never completes.</summary>
    private static readonly Task<int> s_never = new TaskCompletionSource<int>().Task;

    private int _lastConnectionId;
    private bool _started;

    public XenstoreServer(ServerOptions options, ILoggerFactory loggerFactory)
        : this(options, loggerFactory, journal => journal)
    {
    }

    /// <param name="options">The settings.</param>
    /// <param name="loggerFactory">Where the logs go.</param>
    /// <param name="observeJournal">Wraps the batch journal (tests observe when each batch is journalled).</param>
    internal XenstoreServer(ServerOptions options, ILoggerFactory loggerFactory, Func<IBatchJournal, IBatchJournal> observeJournal)
    {
        _options = options;
        ILogger logger = loggerFactory.CreateLogger("xenstored");
        _logger = logger;
        var switches = new TraceSwitches();
        // With a trace file, C traces io and obj from the start; --trace-control switches then apply in order.
        if (options.TraceFile is not null)
        {
            switches.Apply("on");
        }
        foreach (string change in options.TraceSwitches)
        {
            if (!switches.Apply(change))
            {
                throw new ArgumentException("unknown trace switch " + change, nameof(options));
            }
        }
        _traceFile = options.TraceFile is null ? null : new TraceFile(options.TraceFile);
        var trace = new AccessTrace(switches, _traceFile, logger);
        _watcher = new DescriptorWatcher(logger);
        _queue = new WorkQueue(_watcher);
        WorkQueue queue = _queue;
        _state = options.StateDirectory is null ? null
            : new StateStore(options.StateDirectory, options.Fsync, options.SnapshotAfterBytes, logger, () => queue.Post(StoreWork.Run(static _ => { })));
        StateStore? state = _state;
        _metrics = new ServerMetrics(() => state?.JournalBytesWritten ?? 0, options.TimeProvider.TimestampFrequency);
        _io = new SocketIoBatch(options.UseIoUring, (target, e) =>
        {
            Log.StoreError(logger, e);
            (target as IClientConnection)?.Abort("internal error");
        });
        var connections = new ConnectionRegistry();
        var accounting = new AccountingTable(options.TimeProvider);
        var view = new OperatorView(accounting, connections, _metrics, () => state?.JournalBytesWritten ?? 0, logger);
        _output = new EngineOutputRouter(connections, trace, _metrics, accounting);
        _rings = options.Hypervisor == HypervisorKind.None ? null : new RingManager(OpenHypervisor, _queue, _watcher, logger, NextConnectionId, options.MaxPendingRingOutputBytes,
            new WriteRateLimit(options.GuestWriteRate, options.GuestWriteBurst, options.TimeProvider));
        _liveUpdateRequests = new LiveUpdateRequests(hasStateDirectory: _state is not null);
        var host = new EngineHost(connections, _output, _rings, _liveUpdateRequests, switches, view, logger);
        _engine = new XenstoreEngine(options.Engine, _output, host);
        if (_rings is not null)
        {
            XenstoreEngine engine = _engine;
            _rings.OpenTransactions = () => engine.OpenTransactionCount;
        }
        IBatchJournal journal = observeJournal((IBatchJournal?)_state ?? InMemoryOnly.Instance);
        _pipeline = new BatchPipeline(_engine, _queue, _io, _rings, journal, connections, _output, trace, _metrics, view, logger);
        _storeThread = new StoreThread(_watcher, _queue, _pipeline);
        if (options.SocketPath is not null)
        {
            var sockets = new OpenSockets();
            var transport = new SocketTransport(_watcher, _queue, _pipeline, sockets, options, logger);
            _listener = new UnixSocketListener(options.SocketPath, transport, NextConnectionId);
            _liveUpdate = new LiveUpdateCoordinator(_liveUpdateRequests, _queue, _output, _listener, sockets, _rings, _state, logger);
            if (options.LiveUpdateChannel is int channel)
            {
                _handover = new HandoverReceiver(HandoverChannel.Adopt(channel), _queue, _output, logger);
            }
        }
        if (options.MetricsPort is int port)
        {
            _metricsEndpoint = new MetricsEndpoint(port, () => _queue.InvokeAsync(view.RenderMetrics), logger);
        }
    }

    /// <summary>The Unix socket path; null for a server with in-memory connections only.</summary>
    public string? SocketPath => _options.SocketPath;

    /// <summary>
    /// Completes with the successor's process id when a live update handed everything to it: the daemon should
    /// exit now.
    /// </summary>
    public Task<int> HandedOver => _liveUpdate?.HandedOver ?? s_never;

    /// <summary>Reopens the trace file (after it was rotated); nothing without one.</summary>
    public void ReopenTrace() => _traceFile?.Reopen();

    /// <summary>
    /// Recovers the state directory, opens the socket (or takes over a predecessor's), opens the hypervisor and
    /// starts the store thread, the rings, live update and metrics. Returns once clients can connect. A live
    /// update's successor first stands by until its predecessor hands over (built and started, off the clients'
    /// pause); the rest follows the hand-over.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // A live update's successor recovers a state written with the store quiet: nothing was missed, so the
        // rings' recovered watches need not fire (after a crash each fires once).
        _engine.Persistence.FireRecoveredWatches = _handover is null;
        // Recovered before the store thread starts, so nothing else touches the engine yet. A successor loads the
        // state while it stands by and catches up on the journal once handed over.
        Socket? inherited = null;
        if (_handover is null)
        {
            _state?.Recover(_engine);
        }
        else
        {
            StateStore state = _state ?? throw new InvalidOperationException("a live update's new daemon needs a state directory");
            inherited = await _handover.StandByAsync(() => state.Preload(_engine), cancellationToken).ConfigureAwait(false);
            state.CatchUp(_engine);
        }
        Log.SocketIo(_logger, _io.UsesIoUring
            ? "io_uring, one submission for the sends or receives of all ready sockets"
            : "one system call per send and receive (io_uring off or unavailable)");
        // The hypervisor's event channel is watched from the store thread's first wait.
        _rings?.Start();
        _storeThread.Start();
        _started = true;
        if (_rings is not null)
        {
            RingManager rings = _rings;
            // Domains introduced before a restart are served again (their pages and ports are unchanged).
            _queue.Post(StoreWork.Run(engine =>
            {
                foreach (DomainRecord domain in engine.Domains.Introduced())
                {
                    rings.Attach(engine.Domains.IntroductionOf(domain.Domid, domain.Gfn, domain.EventChannel, isNew: false));
                }
                if (_options.XenstoreDomain)
                {
                    IntroduceExistingDomains(engine, rings);
                }
                // The rings' sessions are opened by now (queued during the attaches): carried-over ring state follows.
                _handover?.AdoptRings(rings);
            }));
        }
        if (_listener is not null)
        {
            // Bound last: a client that connects the moment the socket accepts finds everything else running.
            _listener.Open(inherited);
            _handover?.AdoptSockets(_listener);
            _listener.Start();
        }
        _liveUpdate?.Start();
        if (_handover is null)
        {
            _metricsEndpoint?.Start();
        }
        else
        {
            _ = _metricsEndpoint?.StartWhenFreeAsync(TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>
    /// As the Xenstore domain: the privileged domain first (it sets up the special nodes' owners), then every other
    /// domain that exists, each unless it is introduced already (a restart re-attached it above). Store thread.
    /// </summary>
    private void IntroduceExistingDomains(XenstoreEngine engine, RingManager rings)
    {
        uint privileged = _options.Engine.PrivilegedDomid ?? 0;
        if (!engine.Domains.IsIntroduced(privileged))
        {
            engine.Domains.Introduce(privileged, gfn: 0, _options.PrivilegedEventChannel);
        }
        foreach (uint domid in rings.ExistingDomains().Where(d => d != privileged && !engine.Domains.IsIntroduced(d)))
        {
            engine.Domains.Introduce(domid, gfn: 0, eventChannel: 0);
        }
    }

    /// <summary>Starts a live update with the running binary (SIGUSR2); refused while transactions are open.</summary>
    public void RequestLiveUpdate() => _queue.Post(StoreWork.Run(engine =>
    {
        if (_liveUpdateRequests.Refusal(engine, force: false) is null)
        {
            _liveUpdateRequests.Start(requester: -1, default, force: false);
        }
    }));

    /// <summary>
    /// A connection that lives in this process: requests written to the stream are executed by the store thread
    /// like any socket's, and replies and events are read from it once their batch is journalled. Dom0 by default;
    /// a guest's view with <paramref name="domid"/> and <paramref name="privileged"/> false.
    /// </summary>
    public Stream ConnectInMemory(uint domid = 0, bool privileged = true)
    {
        if (!_started)
        {
            throw new InvalidOperationException("the server is not started");
        }
        var connection = new InMemoryConnection(NextConnectionId(), domid, privileged, _options.SocketEventLimit, _queue);
        return connection.Stream;
    }

    /// <summary>Runs a query on the store thread (tests and diagnostics).</summary>
    internal Task<T> QueryAsync<T>(Func<XenstoreEngine, T> query) => _queue.InvokeAsync(query);

    private int NextConnectionId() => Interlocked.Increment(ref _lastConnectionId);

    private IHypervisor OpenHypervisor() => _options.Hypervisor switch
    {
        HypervisorKind.Simulated => new SimulatedHypervisor(
            _options.SimulationDirectory ?? throw new ArgumentException("the simulated hypervisor needs a directory")),
        HypervisorKind.Xen => new XenHypervisor(),
        _ => throw new InvalidOperationException("no hypervisor"),
    };

    public async ValueTask DisposeAsync()
    {
        _metricsEndpoint?.Dispose();
        if (_liveUpdate is not null)
        {
            await _liveUpdate.StopAsync().ConfigureAwait(false);
            _liveUpdate.Dispose();
        }
        _listener?.Dispose();
        _storeThread.Dispose();
        _rings?.Dispose();
        _watcher.Dispose();
        _io.Dispose();
        _state?.Dispose();
        _metrics.Dispose();
        _traceFile?.Dispose();
        _handover?.Dispose();
    }
}
