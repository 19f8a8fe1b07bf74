using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.LiveUpdate;

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
    private readonly ConcurrentDictionary<int, SocketConnection> _sockets = new();
    private readonly LiveUpdateCoordinator _liveUpdate;
    private readonly HandoverFile? _handover;
    private readonly string? _handoverPath;
    private readonly ILogger _logger;
    private int _lastConnectionId;

    public XenstoreServer(ServerOptions options, ILoggerFactory loggerFactory)
    {
        ILogger logger = loggerFactory.CreateLogger("xenstored");
        _logger = logger;
        _metrics = new ServerMetrics();
        _host = new ServerEngineHost(logger, _metrics);
        _loop = new StoreLoop(options.Engine, options.UseIoUring, _host, _host.Trace, _metrics, logger);
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
        Socket? inherited = null;
        if (options.LiveUpdateStatePath is not null)
        {
            _handoverPath = options.LiveUpdateStatePath;
            _handover = JsonSerializer.Deserialize<HandoverFile>(File.ReadAllText(_handoverPath))
                ?? throw new InvalidDataException("empty handover file " + _handoverPath);
            inherited = new Socket(new SafeSocketHandle(_handover.Handover.ListenDescriptor, ownsHandle: true));
        }
        _listener = new UnixSocketListener(options.SocketPath, _loop, options, logger, NextConnectionId, inherited)
        {
            Accepted = Track,
        };
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
        _liveUpdate = new LiveUpdateCoordinator(_loop, _listener, _sockets, _rings, _state, logger);
        _host.LiveUpdate = _liveUpdate;
    }

    private void Track(SocketConnection connection)
    {
        _sockets[connection.Id] = connection;
        connection.Closed = closed => _sockets.TryRemove(closed.Id, out _);
    }

    /// <summary>Starts a live update with the running binary (SIGUSR2); refused while transactions are open.</summary>
    public void RequestLiveUpdate() => _loop.Post(StoreWork.Run(engine =>
    {
        if (_liveUpdate.Refusal(engine, force: false) is null)
        {
            _liveUpdate.Start(requester: -1, default);
        }
    }));

    public string SocketPath { get; }

    private int NextConnectionId() => Interlocked.Increment(ref _lastConnectionId);

    public void Start()
    {
        Log.SocketIo(_logger, _loop.Io.UsesIoUring
            ? "io_uring, one submission for the sends or receives of all ready sockets"
            : "one system call per send and receive (io_uring off or unavailable)");
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
                // The rings' sessions are opened by now (queued during the attaches): carried-over ring state follows.
                if (_handover is not null)
                {
                    AdoptRingHandover(_handover);
                }
            }));
        }
        if (_handover is not null)
        {
            AdoptHandover(_handover);
        }
        _listener.Start();
        _metricsEndpoint?.Start();
    }

    /// <summary>Live update, successor side: guest rings get their watches and buffers back (store thread).</summary>
    private void AdoptRingHandover(HandoverFile file)
    {
        _loop.Post(StoreWork.Run(engine =>
        {
            foreach (HandoverRing ring in file.Handover.Rings)
            {
                if (engine.ConnectionOf(ring.Domid) is int id)
                {
                    foreach (Store.WatchRecord watch in ring.Watches)
                    {
                        engine.RestoreWatch(id, watch);
                    }
                }
            }
        }));
        if (_rings is not null)
        {
            foreach (HandoverRingBuffers buffers in file.RingBuffers)
            {
                _ = _rings.SeedBuffersAsync(buffers.Domid, buffers.Input, buffers.Output);
            }
        }
    }

    /// <summary>
    /// The successor's side of a live update: take over every client socket with its unparsed input, unsent
    /// output and watches, refill the guest rings' buffers, answer the request that asked for the update, and tell
    /// the old daemon (the ready file) that it may leave.
    /// </summary>
    private void AdoptHandover(HandoverFile file)
    {
        var adopted = new List<SocketConnection>();
        foreach (HandoverConnection carried in file.Handover.Connections)
        {
            SocketConnection connection = _listener.CreateConnection(new Socket(new SafeSocketHandle(carried.Descriptor, ownsHandle: true)));
            Track(connection);
            connection.StartAdopted(carried.UnparsedInput, carried.UnsentOutput);
            List<Store.WatchRecord> watches = carried.Watches;
            _loop.Post(StoreWork.Run(engine =>
            {
                foreach (Store.WatchRecord watch in watches)
                {
                    engine.RestoreWatch(connection.Id, watch);
                }
            }));
            adopted.Add(connection);
        }
        _loop.Post(StoreWork.Run(_ =>
        {
            if (file.Handover.Reply is { } reply && reply.ConnectionIndex < adopted.Count)
            {
                _loop.SendReply(adopted[reply.ConnectionIndex].Id, XsMessageType.Control, reply.ReqId, reply.TxId, XsConstants.Ok);
            }
            File.WriteAllText(_handoverPath + ".ready", "");
            File.Delete(_handoverPath!);
            Log.LiveUpdateAdopted(_logger, adopted.Count);
        }));
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
