using System.Globalization;
using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Client;

/// <summary>
/// An open transaction. Its operations see a snapshot and take effect together at <see cref="CommitAsync"/>.
/// It belongs to the connection it was started on: after a reconnection of a <see cref="XenstoreClient"/> it fails with
/// <see cref="XenstoreConnectionException"/>. Disposing an uncommitted transaction aborts it.
/// </summary>
public sealed class XenstoreTransaction : XenstoreOperations, IAsyncDisposable
{
    private readonly ITransactionChannel _channel;
    private int _ended;

    private XenstoreTransaction(ITransactionChannel channel, uint id)
    {
        _channel = channel;
        TransactionId = id;
    }

    /// <summary>The transaction a TRANSACTION_START reply opened on <paramref name="channel"/>.</summary>
    internal static XenstoreTransaction Started(ITransactionChannel channel, Reply reply)
    {
        if (reply.Type == XsMessageType.Error)
        {
            throw XenstoreErrorException.Create(XsErrors.Parse(reply.Payload), "transaction start", null);
        }
        string text = Payload.SingleString(reply.Payload);
        if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
        {
            throw new XenstoreProtocolException($"transaction start: malformed id '{text}'");
        }
        return new XenstoreTransaction(channel, id);
    }

    /// <inheritdoc />
    public override uint TransactionId { get; }

    /// <summary>True once committed or aborted.</summary>
    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    private protected override Task<Reply> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsEnded, this);
        return _channel.SendAsync(type, TransactionId, payload, cancellationToken);
    }

    /// <summary>
    /// Commits. Returns false when the daemon reports a conflict (EAGAIN): nothing was applied and the whole
    /// transaction should run again.
    /// </summary>
    public async Task<bool> CommitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await CallAsync(XsMessageType.TransactionEnd, "T\0"u8.ToArray(), "transaction commit", null, cancellationToken)
                .ConfigureAwait(false);
            return true;
        }
        catch (XenstoreConflictException)
        {
            return false;
        }
        finally
        {
            Volatile.Write(ref _ended, 1);
        }
    }

    /// <summary>Aborts: nothing the transaction did takes effect.</summary>
    public async Task AbortAsync(CancellationToken cancellationToken = default)
    {
        if (IsEnded)
        {
            return;
        }
        try
        {
            await CallAsync(XsMessageType.TransactionEnd, "F\0"u8.ToArray(), "transaction abort", null, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _ended, 1);
        }
    }

    /// <summary>Aborts unless already ended; a lost connection already ended it on the daemon's side.</summary>
    public async ValueTask DisposeAsync()
    {
        if (IsEnded)
        {
            return;
        }
        try
        {
            await AbortAsync().ConfigureAwait(false);
        }
        catch (XenstoreException)
        {
            // The daemon drops transactions of a closed connection; an unknown id is already gone.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
