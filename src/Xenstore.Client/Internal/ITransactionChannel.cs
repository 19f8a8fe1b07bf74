using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// Where a transaction's requests go: the connection it was started on, whichever client owns it (a transaction
/// id means nothing on any other connection).
/// </summary>
internal interface ITransactionChannel
{
    Task<Reply> SendAsync(XsMessageType type, uint transactionId, byte[] payload, CancellationToken cancellationToken);
}
