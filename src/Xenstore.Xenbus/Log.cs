using Microsoft.Extensions.Logging;

namespace Xenstore.Xenbus;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Listening on {Path}")]
    public static partial void Listening(ILogger logger, string path);

    [LoggerMessage(2, LogLevel.Information, "Upstream: connected to {Upstream} (link {Link})")]
    public static partial void UpstreamConnected(ILogger logger, string upstream, int link);

    [LoggerMessage(3, LogLevel.Warning, "Upstream: lost (link {Link}): {Reason}")]
    public static partial void UpstreamLost(ILogger logger, int link, string reason);

    [LoggerMessage(4, LogLevel.Warning, "Upstream: cannot connect to {Upstream}: {Reason}; retrying")]
    public static partial void UpstreamUnreachable(ILogger logger, string upstream, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Upstream: the daemon no longer knows this connection's watches (a restart); session renewed")]
    public static partial void SessionReset(ILogger logger);

    [LoggerMessage(6, LogLevel.Warning, "Upstream: no reply within {Seconds} s; reconnecting")]
    public static partial void UpstreamSilent(ILogger logger, double seconds);

    [LoggerMessage(7, LogLevel.Debug, "Client {Id}: connected")]
    public static partial void ClientOpened(ILogger logger, int id);

    [LoggerMessage(8, LogLevel.Information, "Client {Id}: closed: {Reason}")]
    public static partial void ClientClosed(ILogger logger, int id, string reason);

    [LoggerMessage(9, LogLevel.Debug, "Upstream: dropped a reply to request {WireId}, which is not in flight")]
    public static partial void UnknownReply(ILogger logger, uint wireId);

    [LoggerMessage(10, LogLevel.Warning, "Upstream: re-registering a watch failed: {Error}")]
    public static partial void ReregisterFailed(ILogger logger, string error);

    [LoggerMessage(11, LogLevel.Error, "Accept failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string reason);

    [LoggerMessage(13, LogLevel.Error, "Event loop: a pass failed")]
    public static partial void LoopError(ILogger logger, Exception exception);

    [LoggerMessage(12, LogLevel.Warning, "Upstream: {Count} requests waiting for the upstream failed with EIO")]
    public static partial void FailedWhileDown(ILogger logger, int count);
}
