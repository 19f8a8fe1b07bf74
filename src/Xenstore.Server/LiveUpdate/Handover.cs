using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// What an old daemon hands to its successor besides the state directory: the listening socket, every client
/// connection (descriptor, bytes received but not parsed, output not yet written, watches), the watches of guest
/// rings, and the CONTROL request that asked for the update, which the new daemon answers.
/// </summary>
internal sealed record Handover(
    int ListenDescriptor,
    List<HandoverConnection> Connections,
    List<HandoverRing> Rings,
    HandoverReply? Reply);

internal sealed record HandoverConnection(int Descriptor, byte[] UnparsedInput, byte[] UnsentOutput, List<WatchRecord> Watches);

internal sealed record HandoverRing(uint Domid, List<WatchRecord> Watches);

/// <summary>The deferred reply: to the connection at <paramref name="ConnectionIndex"/> of the list.</summary>
internal sealed record HandoverReply(int ConnectionIndex, uint ReqId, uint TxId);
