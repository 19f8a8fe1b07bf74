using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Client;

/// <summary>
/// An open transaction. Its operations see a snapshot and take effect together at <see cref="CommitAsync"/>.
/// It belongs to the connection it was started on: after a reconnection it fails with
/// <see cref="XenstoreConnectionException"/>. Disposing an uncommitted transaction aborts it.
/// </summary>
public sealed class XenstoreTransaction : XenstoreOperations, IAsyncDisposable
{
    private readonly XenstoreClient _client;
    private readonly Connection _connection;
    private int _ended;

    internal XenstoreTransaction(XenstoreClient client, Connection connection, uint id)
    {
        _client = client;
        _connection = connection;
        TransactionId = id;
    }

    /// <inheritdoc />
    public override uint TransactionId { get; }

    /// <summary>True once committed or aborted.</summary>
    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    private protected override Task<Reply> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsEnded, this);
        return _client.SendOnAsync(_connection, type, TransactionId, payload, _client.Options.RequestTimeout, cancellationToken);
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
