using System.Net.Sockets;
using Xenstore.Client;

namespace Xenstore.Cli;

/// <summary>The errno number and <c>strerror</c> text the C tools print for a failed client call.</summary>
internal static class ClientFailure
{
    /// <summary>The <c>strerror</c> text for any failure of a client call.</summary>
    public static string Text(Exception error) => error switch
    {
        XenstoreErrorException e => Errno.Text(Errno.Of(e.Error)),
        XenstoreConnectionException { InnerException: FileNotFoundException } => Errno.Text(Errno.ENOENT),
        XenstoreConnectionException { InnerException: SocketException s } => s.Message,
        XenstoreConnectionException { InnerException: IOException io } => io.Message,
        XenstoreConnectionException or XenstoreProtocolException => Errno.Text(Errno.EBADF),
        XenstoreTimeoutException => Errno.Text(Errno.ETIMEDOUT),
        _ => error.Message,
    };

    /// <summary>The errno number for any failure of a client call.</summary>
    public static int Number(Exception error) => error switch
    {
        XenstoreErrorException e => Errno.Of(e.Error),
        XenstoreTimeoutException => Errno.ETIMEDOUT,
        _ => Errno.EBADF,
    };
}
