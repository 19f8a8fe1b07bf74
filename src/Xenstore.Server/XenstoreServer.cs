using Microsoft.Extensions.Logging;

namespace Xenstore.Server;

/// <summary>The daemon without its command line: the store thread and the transports around it.</summary>
public sealed class XenstoreServer : IAsyncDisposable
{
    private readonly StoreLoop _loop;
    private readonly UnixSocketListener _listener;
    private readonly ServerEngineHost _host;
    private readonly Rings.RingManager? _rings;
    private readonly Persistence.StateStore? _state;
    private readonly ServerMetrics _metrics;
    private readonly MetricsEndpoint? _metricsEndpoint;
    private int _lastConnectionId;

    public XenstoreServer(ServerOptions options, ILoggerFactory loggerFactory)
    {
        ILogger logger = loggerFactory.CreateLogger("xenstored");
        _metrics = new ServerMetrics();
        _host = new ServerEngineHost(logger, options.Engine.PrivilegedDomid, _metrics);
        _loop = new StoreLoop(options.Engine, _host, _host.Trace, _metrics, logger);
        _metrics.Attach(() => _loop.Engine);
        _host.Loop = _loop;
        if (options.StateDirectory is not null)
        {
            // Recovered before the store thread starts, so nothing else touches the engine yet.
            _state = new Persistence.StateStore(options.StateDirectory, options.Fsync, options.SnapshotAfterBytes, logger);
            _state.Recover(_loop.Engine);
            _loop.BatchExecuted = _state.Commit;
            Persistence.StateStore state = _state;
            _metrics.JournalBytes = () => state.JournalBytesWritten;
        }
        if (options.MetricsPort is int port)
        {
            _metricsEndpoint = new MetricsEndpoint(port, () => _loop.InvokeAsync(_ => _metrics.Render()), logger);
        }
        _listener = new UnixSocketListener(options.SocketPath, _loop, options, logger, NextConnectionId);
        Hypervisor.IHypervisor? hypervisor = options.Hypervisor switch
        {
            HypervisorKind.Simulated => new Hypervisor.SimulatedHypervisor(
                options.SimulationDirectory ?? throw new ArgumentException("the simulated hypervisor needs a directory")),
            HypervisorKind.Xen => new Hypervisor.XenHypervisor(),
            _ => null,
        };
        if (hypervisor is not null)
        {
            _rings = new Rings.RingManager(hypervisor, _loop, logger, NextConnectionId);
            _host.Rings = _rings;
        }
        SocketPath = options.SocketPath;
    }

    public string SocketPath { get; }

    private int NextConnectionId() => Interlocked.Increment(ref _lastConnectionId);

    public void Start()
    {
        _loop.Start();
        _rings?.Start();
        if (_rings is not null)
        {
            // Domains introduced before a restart are served again (their pages and ports are unchanged).
            _loop.Post(StoreWork.Run(engine =>
            {
                foreach (Store.DomainRecord domain in engine.IntroducedDomains())
                {
                    _host.DomainIntroduced(domain.Domid, domain.Gfn, domain.EventChannel, isNew: false);
                }
            }));
        }
        _listener.Start();
        _metricsEndpoint?.Start();
    }

    /// <summary>Runs a query on the store thread (for tests and diagnostics).</summary>
    public Task<T> QueryAsync<T>(Func<Store.XenstoreEngine, T> query) => _loop.InvokeAsync(query);

    public ValueTask DisposeAsync()
    {
        _metricsEndpoint?.Dispose();
        _listener.Dispose();
        _rings?.Dispose();
        _loop.Dispose();
        _state?.Dispose();
        _metrics.Dispose();
        return ValueTask.CompletedTask;
    }
}
