namespace Xenstore.Client;

public sealed partial class XenstoreClient
{
    /// <summary>
    /// Runs <paramref name="body"/> in a transaction and commits it, running it again (after a short randomised
    /// back-off) while the daemon reports a conflict, at most <paramref name="maxAttempts"/> times (default
    /// <see cref="XenstoreClientOptions.TransactionMaxAttempts"/>). Whatever the body produced in a failed attempt
    /// must be discarded by the body itself: only the result of the committed attempt is returned. Any other error
    /// aborts the transaction and propagates.
    /// </summary>
    /// <exception cref="XenstoreConflictException">Every attempt conflicted.</exception>
    public async Task<T> RunTransactionAsync<T>(Func<XenstoreTransaction, CancellationToken, Task<T>> body,
        int? maxAttempts = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        int attempts = maxAttempts ?? _options.TransactionMaxAttempts;
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        for (int attempt = 1; ; attempt++)
        {
            XenstoreTransaction transaction = await BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                T result;
                try
                {
                    result = await body(transaction, cancellationToken).ConfigureAwait(false);
                }
                catch (XenstoreConflictException) when (attempt < attempts)
                {
                    // oxenstored may report the conflict on an operation rather than at commit.
                    await transaction.AbortAsync(cancellationToken).ConfigureAwait(false);
                    await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (await transaction.CommitAsync(cancellationToken).ConfigureAwait(false))
                {
                    return result;
                }
            }
            if (attempt >= attempts)
            {
                throw new XenstoreConflictException($"transaction still conflicting after {attempts} attempts");
            }
            await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="body"/> in a transaction, as <see cref="RunTransactionAsync{T}"/>.</summary>
    public Task RunTransactionAsync(Func<XenstoreTransaction, CancellationToken, Task> body, int? maxAttempts = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunTransactionAsync<bool>(async (tx, ct) =>
        {
            await body(tx, ct).ConfigureAwait(false);
            return true;
        }, maxAttempts, cancellationToken);
    }

    /// <summary>
    /// Exponential back-off with full jitter, capped at ~50 ms: conflicting writers spread out instead of colliding
    /// again in lockstep, and a lone retry stays fast.
    /// </summary>
    private static Task BackOffAsync(int attempt, CancellationToken cancellationToken)
    {
        int ceilingMs = Math.Min(50, 1 << Math.Min(attempt, 6));
        return Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceilingMs), cancellationToken);
    }
}
