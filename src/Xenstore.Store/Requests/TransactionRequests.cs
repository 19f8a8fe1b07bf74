using Xenstore.Protocol;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Requests;

/// <summary>TRANSACTION_START and TRANSACTION_END: opening, and ending with the commit replayed on the live tree.</summary>
internal sealed class TransactionRequests(TransactionManager transactions, TreeWriter writer, WatchTable watches)
{
    // "TRANSACTION_START |": the payload is ignored; the header's tx_id must be 0 (no nesting).
    public XsError Start(RequestContext request, Connection connection, XsHeader header)
    {
        if (header.TxId != 0)
        {
            return XsError.EBUSY;
        }
        XsError error = transactions.TryStart(connection, out Transaction? transaction);
        if (error != XsError.None)
        {
            return error;
        }
        request.Reply.AppendNumber(transaction!.Id);
        request.Reply.AppendByte(0);
        return XsError.None;
    }

    // "TRANSACTION_END T|" commits, "F|" aborts; anything else is EINVAL and leaves the transaction open.
    public XsError End(RequestContext request, Connection connection, Transaction tx, ReadOnlySpan<byte> payload)
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
        XsError error = transactions.End(tx, commit);
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
        TreeView liveView = writer.LiveView;
        int firstEvent = watches.PendingCount;
        foreach (TransactionEffect effect in tx.Effects)
        {
            Node? node = liveView.Tree.Get(effect.Path);
            switch (effect)
            {
                case WriteEffect write when node is not null:
                    writer.SetValue(liveView, write.Path, write.Value);
                    break;
                case WriteEffect write:
                    writer.CreatePath(liveView, write.Path, write.Value, tx.Owner.Domid, tx.Owner.Privileged);
                    break;
                case MkdirEffect mkdir when node is null:
                    writer.CreatePath(liveView, mkdir.Path, [], tx.Owner.Domid, tx.Owner.Privileged);
                    break;
                case RemoveEffect remove when node is not null:
                    writer.Remove(liveView, remove.Path);
                    break;
                case SetPermsEffect setPerms when node is not null:
                    writer.SetPerms(liveView, setPerms.Path, setPerms.Perms);
                    break;
            }
        }
        watches.CoalescePendingFrom(firstEvent);
    }
}
