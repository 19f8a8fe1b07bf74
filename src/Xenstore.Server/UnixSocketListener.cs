using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xenstore.Server.Reactor;

namespace Xenstore.Server;

/// <summary>Accepts dom0 clients on the Unix socket, on the store thread (its epoll reports new connections).</summary>
internal sealed class UnixSocketListener : IPollable, IDisposable
{
    /// <summary>The epoll token of the listening socket (connections use their ids, which are positive).</summary>
    private const long ListenerToken = 0;

    private const int NonBlockingCloseOnExec = Libc.SockNonBlock | Libc.SockCloseOnExec;
    private const int AcceptsPerWakeUp = 16;

    private readonly Socket _listener;
    private readonly int _descriptor;
    private readonly string _path;
    private readonly StoreLoop _loop;
    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    private readonly Func<int> _nextId;
    private bool _accepting;
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
        }
        else
        {
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
        _listener.Blocking = false;
        _descriptor = (int)_listener.SafeHandle.DangerousGetHandle();
    }

    /// <summary>Starts accepting (from any thread: the store thread does it).</summary>
    public void Start() => _loop.Post(StoreWork.Run(_ => StartAccepting()));

    /// <summary>The listening socket, for handing it to a new daemon.</summary>
    public Socket Socket => _listener;

    /// <summary>Stops accepting; connections not yet accepted wait in the backlog for the next daemon.</summary>
    public Task StopAcceptingAsync() => _loop.InvokeAsync(_ =>
    {
        if (_accepting)
        {
            _loop.Unwatch(_descriptor, ListenerToken);
            _accepting = false;
        }
        return true;
    });

    /// <summary>Accepts again after a live update that did not happen.</summary>
    public void ResumeAccepting() => Start();

    /// <summary>The socket now belongs to a new daemon: disposing must neither close it nor remove its path.</summary>
    public void MarkHandedOver() => _handedOver = true;

    public SocketConnection CreateConnection(Socket socket) => new(_nextId(), socket, _loop, _options, _logger);

    /// <summary>Called for each new connection, on the store thread (the server keeps a list for live update).</summary>
    public Action<SocketConnection>? Accepted { get; set; }

    private void StartAccepting()
    {
        if (!_accepting)
        {
            _loop.Watch(_descriptor, Epoll.In, ListenerToken, this);
            _accepting = true;
        }
    }

    /// <summary>
    /// Takes up to <see cref="AcceptsPerWakeUp"/> connections from the backlog. Bounded, so that clients connecting
    /// without pause cannot keep the store thread accepting while everybody else waits; the rest are reported
    /// again on the next wake-up (the listener is level-triggered).
    /// </summary>
    public void OnReady(uint events)
    {
        for (int accepted = 0; _accepting && accepted < AcceptsPerWakeUp; accepted++)
        {
            int client = Libc.Accept4(_descriptor, 0, 0, NonBlockingCloseOnExec);
            if (client < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    accepted--;
                    continue;
                }
                if (errno != Errno.EAGAIN)
                {
                    // Out of descriptors, say: the backlog stays readable, so pause rather than spin on it.
                    Log.AcceptFailed(_logger, new SocketException(errno));
                    _loop.Unwatch(_descriptor, ListenerToken);
                    _accepting = false;
                    _ = Task.Delay(100).ContinueWith(_ => Start(), TaskScheduler.Default);
                }
                return;
            }
            SocketConnection connection = CreateConnection(new Socket(new SafeSocketHandle(client, ownsHandle: true)));
            Accepted?.Invoke(connection);
            connection.Attach();
        }
    }

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
