using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Requests;

namespace Xenstore.Store;

public sealed partial class XenstoreEngine
{
    /// <summary>Open transactions over all connections.</summary>
    public int TransactionCount { get; private set; }

    /// <summary>Transactions committed since start.</summary>
    public long TransactionsCommitted { get; private set; }

    /// <summary>Transactions aborted by their client (or refused at commit for a quota) since start.</summary>
    public long TransactionsAborted { get; private set; }

    /// <summary>Commits answered EAGAIN since start.</summary>
    public long TransactionsConflicted { get; private set; }

    // "TRANSACTION_START |": the payload is ignored; the header's tx_id must be 0 (no nesting).
    private XsError DoTransactionStart(RequestContext request, Connection connection, XsHeader header)
    {
        if (header.TxId != 0)
        {
            return XsError.EBUSY;
        }
        if (!connection.Privileged
            && !_domains.Allows(connection.Domid, Quota.Transactions, _domains.Usage(connection.Domid, Accounted.Transactions) + 1))
        {
            return XsError.ENOSPC;
        }
        int snapshotEpoch = FreezeLive();
        int txEpoch = ++_epochCounter;
        var tree = new NodeTree(_live.Root, txEpoch, frozenUpTo: txEpoch - 1);
        uint id = connection.NextTransactionId();
        connection.Transactions.Add(id, new Transaction(id, connection, tree, snapshotEpoch, TransactionNodeLimit(connection)));
        _domains.Charge(connection.Domid, Accounted.Transactions, 1);
        TransactionCount++;
        request.Reply.AppendNumber(id);
        request.Reply.AppendByte(0);
        return XsError.None;
    }

    // "TRANSACTION_END T|" commits, "F|" aborts; anything else is EINVAL and leaves the transaction open.
    private XsError DoTransactionEnd(RequestContext request, Connection connection, Transaction tx, ReadOnlySpan<byte> payload)
    {
        bool commit;
        if (payload.SequenceEqual("T\0"u8))
        {
            commit = true;
        }
        else if (payload.SequenceEqual("F\0"u8))
        {
            commit = false;
        }
        else
        {
            return XsError.EINVAL;
        }
        EndTransaction(tx);
        if (!commit)
        {
            TransactionsAborted++;
            return request.Ok();
        }
        if (HasConflict(tx))
        {
            TransactionsConflicted++;
            return XsError.EAGAIN;
        }
        if (WouldExceedNodeQuota(tx))
        {
            TransactionsAborted++;
            return XsError.ENOSPC;
        }
        ApplyCommit(tx);
        TransactionsCommitted++;
        return request.Ok();
    }

    /// <summary>
    /// Commit validation: every node the transaction read or wrote must be as it was in the snapshot (same
    /// existence and generation). A parent whose child list changed does not conflict unless the transaction
    /// listed it: creating or removing different children merges.
    /// </summary>
    private bool HasConflict(Transaction tx)
    {
        foreach ((string path, TransactionAccess access) in tx.Accessed)
        {
            Node? current = _live.Get(path);
            if (!access.Existed)
            {
                if (current is not null)
                {
                    return true;
                }
                continue;
            }
            if (current is null || current.Generation != access.Generation
                || (access.Listed && current.ChildrenGeneration != access.ChildrenGeneration))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The node quota is checked again at commit, as C does: the checks inside the transaction counted the live
    /// nodes of that time, and the domain may have created more since (creations under one parent merge).
    /// </summary>
    private bool WouldExceedNodeQuota(Transaction tx)
    {
        uint domid = tx.Owner.Domid;
        int delta = tx.DeltaFor(domid);
        if (tx.Owner.Privileged || delta <= 0)
        {
            return false;
        }
        return !_domains.Allows(domid, Quota.Nodes, _domains.Usage(domid, Accounted.Nodes) + delta);
    }

    /// <summary>Replays the transaction's changes on the live tree; one watch event per modified node.</summary>
    private void ApplyCommit(Transaction tx)
    {
        var live = new TreeView(_live, null);
        int firstEvent = _watches.PendingCount;
        foreach (TransactionEffect effect in tx.Effects)
        {
            Node? node = _live.Get(effect.Path);
            switch (effect)
            {
                case WriteEffect write when node is not null:
                    ApplySetValue(live, write.Path, write.Value);
                    break;
                case WriteEffect write:
                    ApplyCreatePath(_live, null, write.Path, write.Value, tx.Owner.Domid, tx.Owner.Privileged);
                    break;
                case MkdirEffect mkdir when node is null:
                    ApplyCreatePath(_live, null, mkdir.Path, [], tx.Owner.Domid, tx.Owner.Privileged);
                    break;
                case RemoveEffect remove when node is not null:
                    ApplyRemove(live, remove.Path);
                    break;
                case SetPermsEffect setPerms when node is not null:
                    ApplySetPerms(live, setPerms.Path, setPerms.Perms);
                    break;
            }
        }
        _watches.CoalescePendingFrom(firstEvent);
    }

    private void EndTransaction(Transaction tx)
    {
        tx.Owner.Transactions.Remove(tx.Id);
        TransactionCount--;
        _domains.Charge(tx.Owner.Domid, Accounted.Transactions, -1);
        ReleaseFrozen(tx.SnapshotEpoch);
    }

    /// <summary>
    /// Takes a snapshot of the live root as it is now and returns its epoch. From here on the live tree copies any
    /// node it changes (new epoch), so the snapshot never sees a later change.
    /// </summary>
    private int FreezeLive()
    {
        int snapshotEpoch = _live.Epoch;
        _liveSnapshots[snapshotEpoch] = _liveSnapshots.GetValueOrDefault(snapshotEpoch) + 1;
        _live.FrozenUpTo = snapshotEpoch;
        _live.Epoch = ++_epochCounter;
        return snapshotEpoch;
    }

    /// <summary>A snapshot taken by <see cref="FreezeLive"/> is no longer used.</summary>
    private void ReleaseFrozen(int snapshotEpoch)
    {
        int remaining = _liveSnapshots[snapshotEpoch] - 1;
        if (remaining == 0)
        {
            _liveSnapshots.Remove(snapshotEpoch);
        }
        else
        {
            _liveSnapshots[snapshotEpoch] = remaining;
        }
        _live.FrozenUpTo = _liveSnapshots.Count == 0 ? 0 : _liveSnapshots.Keys[^1];
    }
}
