using Xenstore.Protocol;
using Xenstore.Store.Requests;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;

namespace Xenstore.Store;

public sealed partial class XenstoreEngine
{
    // "TRANSACTION_START |": the payload is ignored; the header's tx_id must be 0 (no nesting).
    private XsError DoTransactionStart(RequestContext request, Connection connection, XsHeader header)
    {
        if (header.TxId != 0)
        {
            return XsError.EBUSY;
        }
        XsError error = _transactions.TryStart(connection, out Transaction? transaction);
        if (error != XsError.None)
        {
            return error;
        }
        request.Reply.AppendNumber(transaction!.Id);
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
        XsError error = _transactions.End(tx, commit);
        if (error != XsError.None)
        {
            return error;
        }
        if (commit)
        {
            ApplyCommit(tx);
        }
        return request.Ok();
    }

    /// <summary>Replays the transaction's changes on the live tree; one watch event per modified node.</summary>
    private void ApplyCommit(Transaction tx)
    {
        TreeView live = LiveView;
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
                    ApplyCreatePath(live, write.Path, write.Value, tx.Owner.Domid, tx.Owner.Privileged);
                    break;
                case MkdirEffect mkdir when node is null:
                    ApplyCreatePath(live, mkdir.Path, [], tx.Owner.Domid, tx.Owner.Privileged);
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
}
