using System.Text;
using Xenstore.Client;
using Xenstore.HostSim.Run;
using Xenstore.Protocol;

namespace Xenstore.HostSim.Xenbus;

/// <summary>The few composite operations every party uses, as libxl and Linux's xenbus perform them.</summary>
internal static class XenbusOps
{
    /// <summary>
    /// Runs <paramref name="body"/> in a transaction until it commits, counting each EAGAIN: libxl and the drivers
    /// retry at once and without limit; the limit here only stops a livelock from hanging the run.
    /// </summary>
    /// <returns>False when the body asked to abort (returned false).</returns>
    public static async Task<bool> TransactAsync(XenstoreClient client, RunCounters counters,
        Func<XenstoreTransaction, Task<bool>> body, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            XenstoreTransaction transaction = await client.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                try
                {
                    if (!await body(transaction).ConfigureAwait(false))
                    {
                        await transaction.AbortAsync(cancellationToken).ConfigureAwait(false);
                        return false;
                    }
                    if (await transaction.CommitAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return true;
                    }
                }
                catch (XenstoreConflictException) when (attempt < 1000)
                {
                    // oxenstored may report the conflict on an operation rather than at commit.
                }
            }
            if (attempt >= 1000)
            {
                throw new XenstoreConflictException("transaction still conflicting after 1000 attempts");
            }
            counters.AddEagain();
        }
    }

    /// <summary>libxl's mknod: an empty node, then its permissions.</summary>
    public static async Task MknodAsync(XenstoreOperations operations, string path, XsPermission[] permissions,
        CancellationToken cancellationToken)
    {
        await operations.WriteAsync(path, "", cancellationToken).ConfigureAwait(false);
        await operations.SetPermissionsAsync(path, permissions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a node, a missing one included (xs_rm's ENOENT is not an error to its callers).</summary>
    public static async Task RemoveIfPresentAsync(XenstoreOperations operations, string path, CancellationToken cancellationToken)
    {
        try
        {
            await operations.RemoveAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreNotFoundException)
        {
        }
    }

    public static async Task<string?> ReadOrNullAsync(XenstoreOperations operations, string path, CancellationToken cancellationToken)
    {
        byte[]? value = await operations.TryReadAsync(path, cancellationToken).ConfigureAwait(false);
        return value is null ? null : Encoding.UTF8.GetString(value);
    }

    /// <summary>
    /// xenbus_read_driver_state: any error reads as Unknown. A device directory removed under a parent the reader
    /// may not read answers EACCES rather than ENOENT (a driver domain looking at a destroyed guest's frontend).
    /// </summary>
    public static async Task<XenbusState> ReadStateAsync(XenstoreOperations operations, string directory, CancellationToken cancellationToken)
    {
        try
        {
            return XenbusStates.Parse(await ReadOrNullAsync(operations, directory + "/state", cancellationToken).ConfigureAwait(false));
        }
        catch (XenstoreAccessDeniedException)
        {
            return XenbusState.Unknown;
        }
    }

    /// <summary>
    /// Linux's xenbus_switch_state: in a transaction, check the device still has a <c>state</c> node, then write
    /// the new state; a device whose directory is gone is left alone rather than recreated.
    /// </summary>
    /// <returns>False when the directory is gone.</returns>
    public static Task<bool> SwitchStateAsync(XenstoreClient client, RunCounters counters, string directory, XenbusState state,
        CancellationToken cancellationToken) =>
        TransactAsync(client, counters, async tx =>
        {
            if (await tx.TryReadAsync(directory + "/state", cancellationToken).ConfigureAwait(false) is null)
            {
                return false;
            }
            await tx.WriteAsync(directory + "/state", XenbusStates.Text(state), cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>Lists a directory, a missing one as empty.</summary>
    public static async Task<string[]> ListOrEmptyAsync(XenstoreOperations operations, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await operations.ListAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreNotFoundException)
        {
            return [];
        }
    }
}
