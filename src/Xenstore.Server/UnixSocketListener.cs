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

    public UnixSocketListener(string path, StoreLoop loop, ServerOptions options, ILogger logger, Func<int> nextId)
    {
        _path = path;
        _loop = loop;
        _options = options;
        _logger = logger;
        _nextId = nextId;
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

    public void Start() => _ = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.AcceptFailed(_logger, e);
                continue;
            }
            var connection = new SocketConnection(_nextId(), client, _loop, _options, _logger);
            connection.Start();
        }
    }

    public void Dispose()
    {
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
