using Microsoft.Extensions.Logging;

namespace Xenstore.Server;

/// <summary>The daemon without its command line: the store thread and the transports around it.</summary>
public sealed class XenstoreServer : IAsyncDisposable
{
    private readonly StoreLoop _loop;
    private readonly UnixSocketListener _listener;
    private readonly ServerEngineHost _host;
    private int _lastConnectionId;

    public XenstoreServer(ServerOptions options, ILoggerFactory loggerFactory)
    {
        ILogger logger = loggerFactory.CreateLogger("xenstored");
        _host = new ServerEngineHost(logger);
        _loop = new StoreLoop(options.Engine, _host, logger);
        _host.Loop = _loop;
        _listener = new UnixSocketListener(options.SocketPath, _loop, options, logger, () => Interlocked.Increment(ref _lastConnectionId));
        SocketPath = options.SocketPath;
    }

    public string SocketPath { get; }

    public void Start()
    {
        _loop.Start();
        _listener.Start();
    }

    /// <summary>Runs a query on the store thread (for tests and diagnostics).</summary>
    public Task<T> QueryAsync<T>(Func<Store.XenstoreEngine, T> query) => _loop.InvokeAsync(query);

    public ValueTask DisposeAsync()
    {
        _listener.Dispose();
        _loop.Dispose();
        return ValueTask.CompletedTask;
    }
}
