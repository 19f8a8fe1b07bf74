using System.Net.Sockets;

namespace Xenstore.TestKit;

internal static class SocketWait
{
    /// <summary>Polls until a Unix socket accepts a connection, the process died, or the timeout passed.</summary>
    public static async Task UntilAcceptingAsync(string path, TimeSpan timeout, Func<bool> died)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (died())
            {
                throw new InvalidOperationException("the daemon exited before listening on " + path);
            }
            if (File.Exists(path))
            {
                try
                {
                    using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).ConfigureAwait(false);
                    return;
                }
                catch (SocketException)
                {
                    // Not accepting yet.
                }
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException("no daemon listening on " + path);
    }
}
