using Xenstore.Protocol;

namespace Xenstore.Store;

/// <summary>Where the engine sends replies and watch events. Implemented by the server's connections.</summary>
public interface IEngineOutput
{
    /// <summary>
    /// Queues one message for a connection. The payload span is only valid during the call.
    /// Watch events use <see cref="XsMessageType.WatchEvent"/> with req_id and tx_id 0.
    /// </summary>
    void Send(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload);
}
