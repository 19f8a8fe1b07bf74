using System.Net.Sockets;

namespace Xenstore.Client.Internal;

/// <summary>Opens the byte stream to a daemon: a Unix socket, or the xenbus character device.</summary>
internal static class Transport
{
    public static async Task<Stream> OpenAsync(string path, CancellationToken cancellationToken)
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
        // libxenstore stat()s the path; .NET has no portable file-type query, and the xenbus device only ever lives
        // under /dev or /proc, so the location decides.
        if (path.StartsWith("/dev/", StringComparison.Ordinal) || path.StartsWith("/proc/", StringComparison.Ordinal))
        {
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0, useAsync: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new XenstoreConnectionException($"cannot open {path}: {e.Message}", inner: e);
            }
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
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
    }
}
