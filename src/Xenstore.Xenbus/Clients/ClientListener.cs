using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Xenstore.Xenbus.Mux;

namespace Xenstore.Xenbus.Clients;

/// <summary>
/// The Unix socket local clients connect to, mode 0600 like xenstored's: every client acts with the upstream
/// connection's identity (dom0's, usually), so only its owner may connect.
/// </summary>
internal sealed class ClientListener : IDisposable
{
    private readonly string _path;
    private readonly Action<MuxEvent> _post;
    private readonly int _outputLimit;
    private readonly ILogger _logger;
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private int _nextId;

    public ClientListener(string path, Action<MuxEvent> post, int outputLimit, ILogger logger)
    {
        _path = path;
        _post = post;
        _outputLimit = outputLimit;
        _logger = logger;
    }

    public void Start()
    {
        string? directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        // A socket left by an earlier run that nobody serves any more.
        if (File.Exists(_path) && !Accepting(_path))
        {
            File.Delete(_path);
        }
        _socket.Bind(new UnixDomainSocketEndPoint(_path));
        // Nobody can connect before listen(), so the mode is in place before the first client.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        _socket.Listen(512);
        Log.Listening(_logger, _path);
    }

    public async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        var running = new List<Task>();
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.Interrupted)
            {
                continue;
            }
            catch (SocketException e)
            {
                Log.AcceptFailed(_logger, e);
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                continue;
            }
            var session = new ClientSession(Interlocked.Increment(ref _nextId), accepted, _post, _outputLimit, _logger);
            Log.ClientOpened(_logger, session.Id);
            _post(new MuxEvent.ClientOpened(session));
            _ = Task.Run(session.RunAsync, CancellationToken.None);
        }
    }

    private static bool Accepting(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Left behind; the next start replaces it.
        }
    }
}
