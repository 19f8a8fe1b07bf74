using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Xenstore.Server;

/// <summary>Accepts dom0 clients on the Unix socket.</summary>
internal sealed class UnixSocketListener : IDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private readonly StoreLoop _loop;
    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    private readonly Func<int> _nextId;

    private CancellationTokenSource _stopAccepting = new();
    private Task? _acceptLoop;
    private bool _handedOver;

    public UnixSocketListener(string path, StoreLoop loop, ServerOptions options, ILogger logger, Func<int> nextId, Socket? inherited = null)
    {
        _path = path;
        _loop = loop;
        _options = options;
        _logger = logger;
        _nextId = nextId;
        if (inherited is not null)
        {
            // Live update: the previous daemon's listening socket, already bound and listening.
            _listener = inherited;
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path))
        {
            // A stale socket from a previous run; a live daemon would still be bound to it.
            File.Delete(path);
        }
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1024);
    }

    public void Start() => _acceptLoop = AcceptLoopAsync();

    /// <summary>The listening socket, for handing it to a new daemon.</summary>
    public Socket Socket => _listener;

    /// <summary>Stops accepting; connections not yet accepted wait in the backlog for the next daemon.</summary>
    public async Task StopAcceptingAsync()
    {
        await _stopAccepting.CancelAsync().ConfigureAwait(false);
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }
    }

    /// <summary>Accepts again after a live update that did not happen.</summary>
    public void ResumeAccepting()
    {
        _stopAccepting = new CancellationTokenSource();
        Start();
    }

    /// <summary>The socket now belongs to a new daemon: disposing must neither close it nor remove its path.</summary>
    public void MarkHandedOver() => _handedOver = true;

    public SocketConnection CreateConnection(Socket socket) => new(_nextId(), socket, _loop, _options, _logger);

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopAccepting.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.AcceptFailed(_logger, e);
                continue;
            }
            SocketConnection connection = CreateConnection(client);
            Accepted?.Invoke(connection);
            connection.Start();
        }
    }

    /// <summary>Called for each new connection (the server keeps a list for live update).</summary>
    public Action<SocketConnection>? Accepted { get; set; }

    public void Dispose()
    {
        if (_handedOver)
        {
            return;
        }
        _listener.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Nothing to clean up.
        }
    }
}
