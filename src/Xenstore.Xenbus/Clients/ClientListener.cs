using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Xenstore.Xenbus.Clients;

/// <summary>
/// The Unix socket local clients connect to, mode 0600 like xenstored's: every client acts with the upstream
/// connection's identity (dom0's, usually), so only its owner may connect.
/// </summary>
internal sealed class ClientListener : IDisposable
{
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    public ClientListener(string path, ILogger logger)
    {
        _path = path;
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
        _socket.Blocking = false;
        Descriptor = (int)_socket.Handle;
        Log.Listening(_logger, _path);
    }

    /// <summary>The listening socket, non-blocking once <see cref="Start"/> returned: the loop polls it.</summary>
    public int Descriptor { get; private set; } = -1;

    /// <summary>
    /// The next connection waiting in the backlog, non-blocking: its descriptor, -1 when there is none now, or -2
    /// when accepting failed for another reason (out of descriptors: the loop leaves the backlog alone a while).
    /// </summary>
    public int Accept()
    {
        while (true)
        {
            int accepted = Libc.Accept4(Descriptor, 0, 0, Libc.SockNonBlock | Libc.SockCloseOnExec);
            if (accepted >= 0)
            {
                return accepted;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Errno.EINTR or Errno.ECONNABORTED)
            {
                continue;
            }
            if (errno == Errno.EAGAIN)
            {
                return -1;
            }
            Log.AcceptFailed(_logger, Libc.LastErrorText());
            return -2;
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
