using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.TestKit.Engine;

/// <summary>Keeps every message the engine sends, for tests to inspect.</summary>
public sealed class RecordingOutput : IEngineOutput
{
    public List<RecordedMessage> Messages { get; } = [];

    public void Send(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload) =>
        Messages.Add(new RecordedMessage(connectionId, type, reqId, txId, payload.ToArray()));
}
