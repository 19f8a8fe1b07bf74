using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Reactor;

namespace Xenstore.Server.Transports.Sockets;

/// <summary>Accepts dom0 clients on the Unix socket, on the store thread (its epoll reports new connections).</summary>
internal sealed class UnixSocketListener : IPollable, IDisposable
{
    /// <summary>The epoll token of the listening socket (connections use their ids, which are positive).</summary>
    private const long ListenerToken = 0;

    private const int NonBlockingCloseOnExec = Libc.SockNonBlock | Libc.SockCloseOnExec;
    private const int AcceptsPerWakeUp = 16;

    private readonly string _path;
    private readonly SocketTransport _transport;
    private readonly Func<int> _nextId;
    private Socket? _listener;
    private int _descriptor = -1;
    private bool _accepting;
    private bool _handedOver;

    public UnixSocketListener(string path, SocketTransport transport, Func<int> nextId)
    {
        _path = path;
        _transport = transport;
        _nextId = nextId;
    }

    /// <summary>
    /// Binds the socket path (removing a stale socket a previous run left), or takes over the listening socket a
    /// previous daemon handed over in a live update, already bound and listening.
    /// </summary>
    public void Open(Socket? inherited)
    {
        Socket listener;
        if (inherited is not null)
        {
            listener = inherited;
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
            if (File.Exists(_path))
            {
                // A stale socket from a previous run; a live daemon would still be bound to it.
                File.Delete(_path);
            }
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(_path));
            listener.Listen(1024);
        }
        listener.Blocking = false;
        _listener = listener;
        _descriptor = (int)listener.SafeHandle.DangerousGetHandle();
    }

    /// <summary>Starts accepting (from any thread: the store thread does it).</summary>
    public void Start() => _transport.Queue.Post(StoreWork.Run(_ => StartAccepting()));

    /// <summary>The listening socket, for handing it to a new daemon.</summary>
    public Socket Socket => _listener ?? throw new InvalidOperationException("the listener is not open");

    /// <summary>Stops accepting; connections not yet accepted wait in the backlog for the next daemon.</summary>
    public Task StopAcceptingAsync() => _transport.Queue.InvokeAsync(_ =>
    {
        if (_accepting)
        {
            _transport.Watcher.Unwatch(_descriptor, ListenerToken);
            _accepting = false;
        }
        return true;
    });

    /// <summary>Accepts again after a live update that did not happen.</summary>
    public void ResumeAccepting() => Start();

    /// <summary>The socket now belongs to a new daemon: disposing must neither close it nor remove its path.</summary>
    public void MarkHandedOver() => _handedOver = true;

    public SocketConnection CreateConnection(Socket socket) => new(_nextId(), socket, _transport);

    private void StartAccepting()
    {
        if (!_accepting)
        {
            _transport.Watcher.Watch(_descriptor, Epoll.In, ListenerToken, this);
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
                    Log.AcceptFailed(_transport.Logger, new SocketException(errno));
                    _transport.Watcher.Unwatch(_descriptor, ListenerToken);
                    _accepting = false;
                    _ = Task.Delay(100).ContinueWith(_ => Start(), TaskScheduler.Default);
                }
                return;
            }
            SocketConnection connection = CreateConnection(new Socket(new SafeSocketHandle(client, ownsHandle: true)));
            connection.Attach();
        }
    }

    public void Dispose()
    {
        if (_handedOver || _listener is null)
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
