using Microsoft.Extensions.Logging;

namespace Xenstore.Server;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "Store thread: a request failed")]
    public static partial void StoreError(ILogger logger, Exception exception);

    [LoggerMessage(17, LogLevel.Information, "Sockets: {How}")]
    public static partial void SocketIo(ILogger logger, string how);

    [LoggerMessage(2, LogLevel.Information, "Listening on {Path}")]
    public static partial void Listening(ILogger logger, string path);

    [LoggerMessage(3, LogLevel.Warning, "Connection {Id}: closed: {Reason}")]
    public static partial void ConnectionDropped(ILogger logger, int id, string reason);

    [LoggerMessage(4, LogLevel.Debug, "Connection {Id}: opened")]
    public static partial void ConnectionOpened(ILogger logger, int id);

    [LoggerMessage(5, LogLevel.Error, "Accept failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "{Message}")]
    public static partial void ControlPrint(ILogger logger, string message);

    [LoggerMessage(7, LogLevel.Information, "trace: conn {Id} dom {Domid} {Type} tx {TxId} {Summary}")]
    public static partial void Trace(ILogger logger, int id, uint domid, string type, uint txId, string summary);

    [LoggerMessage(8, LogLevel.Error, "Ring thread: an operation failed")]
    public static partial void RingError(ILogger logger, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Domain {Domid}: ring protocol violation, the connection is ignored until it reconnects")]
    public static partial void RingIgnored(ILogger logger, uint domid);

    [LoggerMessage(10, LogLevel.Information, "State: loaded {Records} records from {Path}")]
    public static partial void StateLoaded(ILogger logger, string path, int records);

    [LoggerMessage(11, LogLevel.Warning, "State: {Path}: {What}")]
    public static partial void StateDamaged(ILogger logger, string path, string what);

    [LoggerMessage(12, LogLevel.Information, "State: snapshot written ({Bytes} bytes), journal restarted")]
    public static partial void StateCompacted(ILogger logger, long bytes);

    [LoggerMessage(13, LogLevel.Warning, "Metrics endpoint: a request failed")]
    public static partial void MetricsFailed(ILogger logger, Exception exception);

    [LoggerMessage(14, LogLevel.Information, "Live update: handed over to process {Pid}; clients were paused {PauseMs:0.0} ms")]
    public static partial void LiveUpdateDone(ILogger logger, int pid, double pauseMs);

    [LoggerMessage(15, LogLevel.Error, "Live update failed; carrying on")]
    public static partial void LiveUpdateFailed(ILogger logger, Exception exception);

    [LoggerMessage(16, LogLevel.Information, "Live update: took over {Connections} connections")]
    public static partial void LiveUpdateAdopted(ILogger logger, int connections);

    [LoggerMessage(21, LogLevel.Warning, "Live update: the previous daemon could not be told that this one serves (it has given the update up and will stop this one)")]
    public static partial void LiveUpdateNotConfirmed(ILogger logger, Exception exception);

    [LoggerMessage(18, LogLevel.Warning, "Refused: domain {Domid} ({Name}) {Operation} {Path}: quota {Quota} reached (limit {Limit}), {Suppressed} refusals of this domain suppressed before this one")]
    public static partial void QuotaRefused(ILogger logger, uint domid, string name, string operation, string path, string quota, long limit, long suppressed);

    [LoggerMessage(20, LogLevel.Warning, "Write rate limit: domain {Domid} is affected: it wrote faster than {Rate} a second (burst {Burst}) while transactions were open, so its requests wait (XSA-206); later waits are counted, not logged")]
    public static partial void WriteRateLimited(ILogger logger, uint domid, int rate, int burst);

    [LoggerMessage(19, LogLevel.Warning, "Refused: domain {Domid} ({Name}) {Operation} {Path}: permission denied, {Suppressed} refusals of this domain suppressed before this one")]
    public static partial void PermissionRefused(ILogger logger, uint domid, string name, string operation, string path, long suppressed);
}
