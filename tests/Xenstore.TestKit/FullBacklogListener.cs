using System.Net.Sockets;

namespace Xenstore.TestKit;

/// <summary>
/// A Unix socket listener whose backlog of one is filled with connections nobody accepts, so the next connect is
/// refused with EAGAIN, as happens to a daemon busy accepting many clients at once. <see cref="AcceptAllAsync"/>
/// plays the daemon catching up.
/// </summary>
public sealed class FullBacklogListener : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xs-backlog-").FullName;
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly List<Socket> _sockets = [];

    public FullBacklogListener()
    {
        Path = System.IO.Path.Combine(_directory, "socket");
        var endpoint = new UnixDomainSocketEndPoint(Path);
        _listener.Bind(endpoint);
        _listener.Listen(1);
        // Connections nobody accepts yet, until the kernel refuses the next one.
        while (Waiting < 64)
        {
            var filler = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
            try
            {
                filler.Connect(endpoint);
                _sockets.Add(filler);
                Waiting++;
            }
            catch (SocketException e) when (UnixSocketConnector.IsFullBacklog(e))
            {
                filler.Dispose();
                return;
            }
        }
        throw new InvalidOperationException("the listen backlog never filled up");
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>Connections in the backlog, not accepted yet.</summary>
    public int Waiting { get; private set; }

    /// <summary>Accepts the waiting connections and <paramref name="more"/> after them; returns how many.</summary>
    public async Task<int> AcceptAllAsync(int more, TimeSpan timeout)
    {
        int accepted = 0;
        for (int target = Waiting + more; accepted < target; accepted++)
        {
            _sockets.Add(await _listener.AcceptAsync().WaitAsync(timeout).ConfigureAwait(false));
        }
        Waiting = 0;
        return accepted;
    }

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
        _listener.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
