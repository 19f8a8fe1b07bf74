using System.Net.Sockets;

namespace Xenstore.TestKit;

/// <summary>
/// Connects to a daemon's Unix socket as the client library does: a connect refused with EAGAIN (the daemon's
/// listen backlog is full while it accepts many clients at once) is retried after a short pause, because the
/// connection would have been accepted a moment later. Any other error is the test's to see.
/// </summary>
public static class UnixSocketConnector
{
    /// <summary>Retries of a connect refused by a full listen backlog (about 2 s in all: test machines are loaded).</summary>
    public const int BacklogRetries = 20;

    /// <summary>A connected stream socket, or the connect's error once it is not (or no longer) a full backlog.</summary>
    public static async Task<Socket> ConnectAsync(string path, CancellationToken cancellationToken = default)
    {
        for (int attempt = 0; ; attempt++)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e) when (IsFullBacklog(e) && attempt < BacklogRetries)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            await Task.Delay(BackOff(attempt), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>As <see cref="ConnectAsync"/>, blocking (for stand-ins that connect in a constructor).</summary>
    public static Socket Connect(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                return socket;
            }
            catch (SocketException e) when (IsFullBacklog(e) && attempt < BacklogRetries)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            Thread.Sleep(BackOff(attempt));
        }
    }

    /// <summary>EAGAIN ("Resource temporarily unavailable"), which .NET reports as WouldBlock.</summary>
    public static bool IsFullBacklog(SocketException e) => e.SocketErrorCode is SocketError.WouldBlock or SocketError.TryAgain;

    private static TimeSpan BackOff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(10 * (attempt + 1), 200));
}
