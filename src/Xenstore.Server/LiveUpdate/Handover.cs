using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// What an old daemon hands to its successor besides the state directory and the sockets (which travel beside it,
/// the listening socket first, then each connection's in this order): every client connection's bytes received but
/// not parsed, output not yet written and watches, the watches of guest rings, and the CONTROL request that asked
/// for the update, which the new daemon answers.
/// </summary>
internal sealed record Handover(
    List<HandoverConnection> Connections,
    List<HandoverRing> Rings,
    HandoverReply? Reply);

internal sealed record HandoverConnection(byte[] UnparsedInput, byte[] UnsentOutput, List<WatchRecord> Watches);

internal sealed record HandoverRing(uint Domid, List<WatchRecord> Watches);

/// <summary>The deferred reply: to the connection at <paramref name="ConnectionIndex"/> of the list.</summary>
internal sealed record HandoverReply(int ConnectionIndex, uint ReqId, uint TxId);

/// <summary>The hand-over's record: connections and watches, plus the guest rings' carried-over buffers.</summary>
internal sealed record HandoverRecord(Handover Handover, List<HandoverRingBuffers> RingBuffers);

internal sealed record HandoverRingBuffers(uint Domid, byte[] Input, byte[] Output);
