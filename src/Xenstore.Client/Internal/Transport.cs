using System.Net.Sockets;

namespace Xenstore.Client.Internal;

/// <summary>Opens the byte stream to a daemon: a Unix socket, the xenbus character device, or a guest's ring.</summary>
internal static class Transport
{
    public static async Task<Stream> OpenAsync(Endpoint endpoint, TimeSpan handshakeTimeout, CancellationToken cancellationToken)
    {
        string path = endpoint.Path;
        if (endpoint.Kind == EndpointKind.SimulatedRing)
        {
            try
            {
                return await RingStream.OpenAsync(path, endpoint.Domid, handshakeTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new XenstoreConnectionException($"cannot open the ring {endpoint.Display}: {e.Message}", inner: e);
            }
        }
        CheckPath(path);
        if (IsDevice(endpoint))
        {
            return OpenDevice(path);
        }
        Socket socket = await ConnectAsync(path, cancellationToken).ConfigureAwait(false);
        return new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>
    /// The same connection for a poll loop: the socket non-blocking, the device as it is, the ring without a
    /// notification thread (its FIFO is the descriptor to poll).
    /// </summary>
    public static async Task<IPolledTransport> OpenPolledAsync(Endpoint endpoint, TimeSpan handshakeTimeout,
        CancellationToken cancellationToken)
    {
        if (endpoint.Kind == EndpointKind.SimulatedRing)
        {
            try
            {
                return await RingStream.OpenAsync(endpoint.Path, endpoint.Domid, handshakeTimeout, cancellationToken, polled: true)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new XenstoreConnectionException($"cannot open the ring {endpoint.Display}: {e.Message}", inner: e);
            }
        }
        if (IsDevice(endpoint))
        {
            return OpenDevice(endpoint.Path);
        }
        // Connected synchronously: a socket that ever ran an asynchronous operation stays registered with the
        // runtime's own epoll thread, which would then wake for every message the poll loop reads itself.
        for (int attempt = 0; ; attempt++)
        {
            if (TryConnect(endpoint.Path, attempt) is { } socket)
            {
                return new PolledSocket(socket);
            }
            await Task.Delay(10 * (attempt + 1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The connection for a caller that blocks on it (<see cref="BlockingConnection"/>): the socket (through libc, not
    /// .NET's <c>Socket</c>) or the device, so no runtime thread is started for it. A simulated ring needs
    /// the asynchronous client (its handshake waits for notifications).
    /// </summary>
    public static IPolledTransport OpenBlocking(Endpoint endpoint)
    {
        if (endpoint.Kind == EndpointKind.SimulatedRing)
        {
            throw new NotSupportedException("a simulated guest ring is reached through XenstoreClient");
        }
        string path = endpoint.Path;
        CheckPath(path);
        if (IsDevice(endpoint))
        {
            return OpenDevice(path);
        }
        for (int attempt = 0; ; attempt++)
        {
            RawUnixSocket? socket;
            try
            {
                socket = RawUnixSocket.TryConnect(path);
            }
            catch (IOException e)
            {
                throw new XenstoreConnectionException($"cannot connect to {path}: {e.Message}", inner: e);
            }
            if (socket is not null)
            {
                return socket;
            }
            if (attempt >= BacklogRetries)
            {
                throw new XenstoreConnectionException($"cannot connect to {path}: {Errno.Text(Errno.EAGAIN)}",
                    inner: new IOException(Errno.Text(Errno.EAGAIN), Errno.EAGAIN));
            }
            Thread.Sleep(10 * (attempt + 1));
        }
    }

    /// <summary>The errors libxenstore's <c>stat()</c> of the path would give, before anything is opened.</summary>
    private static void CheckPath(string path)
    {
        if (Directory.Exists(path))
        {
            throw new XenstoreConnectionException($"cannot open {path}: Is a directory", inner: new IOException("Is a directory"));
        }
        if (!File.Exists(path))
        {
            throw new XenstoreConnectionException($"cannot open {path}: No such file or directory",
                inner: new FileNotFoundException("No such file or directory", path));
        }
    }

    // libxenstore stat()s the path; .NET has no portable file-type query, and the xenbus device only ever lives
    // under /dev or /proc, so the location decides unless the caller said it is a device.
    private static bool IsDevice(Endpoint endpoint) => endpoint.Kind == EndpointKind.Device || IsDevicePath(endpoint.Path);

    private static DeviceStream OpenDevice(string path)
    {
        try
        {
            return DeviceStream.Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new XenstoreConnectionException($"cannot open {path}: {e.Message}", inner: e);
        }
    }

    /// <summary>
    /// A blocking connect; null when a full listen backlog refused it and <paramref name="attempt"/> leaves room to
    /// try again.
    /// </summary>
    private static Socket? TryConnect(string path, int attempt)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock && attempt < BacklogRetries)
        {
            socket.Dispose();
            return null;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new XenstoreConnectionException($"cannot connect to {path}: {e.Message}", inner: e);
        }
    }

    private static bool IsDevicePath(string path) =>
        path.StartsWith("/dev/", StringComparison.Ordinal) || path.StartsWith("/proc/", StringComparison.Ordinal);

    private static async Task<Socket> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        // A full listen backlog (a daemon busy accepting many clients at once) answers EAGAIN: wait and retry a few
        // times rather than fail a client that would have been served a moment later.
        for (int attempt = 0; ; attempt++)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock && attempt < BacklogRetries)
            {
                socket.Dispose();
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new XenstoreConnectionException($"cannot connect to {path}: {e.Message}", inner: e);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            await Task.Delay(10 * (attempt + 1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Retries of a connect refused by a full listen backlog (about 0.5 s in all).</summary>
    private const int BacklogRetries = 10;
}
