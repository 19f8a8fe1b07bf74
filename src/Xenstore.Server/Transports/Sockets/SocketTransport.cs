using Microsoft.Extensions.Logging;
using Xenstore.Server.Pipeline;

namespace Xenstore.Server.Transports.Sockets;

/// <summary>What every socket connection shares: the store thread's parts it works with, and the settings.</summary>
internal sealed record SocketTransport(
    DescriptorWatcher Watcher,
    WorkQueue Queue,
    BatchPipeline Pipeline,
    OpenSockets Open,
    ServerOptions Options,
    ILogger Logger);
