using System.Net.Sockets;
using Xenstore.Client;
using Xenstore.Protocol;

namespace Xenstore.Cli;

/// <summary>Linux errno numbers and glibc's <c>strerror</c> texts for what the tools print.</summary>
internal static class Errno
{
    public static (int Number, string Text) Of(XsError error) => error switch
    {
        XsError.EPERM => (1, "Operation not permitted"),
        XsError.ENOENT => (2, "No such file or directory"),
        XsError.EIO => (5, "Input/output error"),
        XsError.E2BIG => (7, "Argument list too long"),
        XsError.EAGAIN => (11, "Resource temporarily unavailable"),
        XsError.ENOMEM => (12, "Cannot allocate memory"),
        XsError.EACCES => (13, "Permission denied"),
        XsError.EBUSY => (16, "Device or resource busy"),
        XsError.EEXIST => (17, "File exists"),
        XsError.EISDIR => (21, "Is a directory"),
        XsError.ENOSPC => (28, "No space left on device"),
        XsError.EROFS => (30, "Read-only file system"),
        XsError.ENOSYS => (38, "Function not implemented"),
        XsError.ENOTEMPTY => (39, "Directory not empty"),
        XsError.EISCONN => (106, "Transport endpoint is already connected"),
        _ => (22, "Invalid argument"),
    };

    /// <summary>The <c>strerror</c> text for any failure of a client call.</summary>
    public static string Text(Exception error) => error switch
    {
        XenstoreErrorException e => Of(e.Error).Text,
        XenstoreConnectionException { InnerException: FileNotFoundException } => "No such file or directory",
        XenstoreConnectionException { InnerException: SocketException s } => s.Message,
        XenstoreConnectionException { InnerException: IOException io } => io.Message,
        XenstoreConnectionException or XenstoreProtocolException => "Bad file descriptor",
        XenstoreTimeoutException => "Connection timed out",
        _ => error.Message,
    };

    /// <summary>The errno number for any failure of a client call.</summary>
    public static int Number(Exception error) => error switch
    {
        XenstoreErrorException e => Of(e.Error).Number,
        XenstoreTimeoutException => 110,
        _ => 9,
    };
}
