using Xenstore.Protocol;
using Xenstore.Store.Persistence;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Requests;

/// <summary>
/// TRANSACTION_START and TRANSACTION_END: opening, and ending with the commit replayed on the live tree; and the
/// transactions a ring had open when the daemon stopped.
/// </summary>
internal sealed class TransactionRequests(TransactionManager transactions, TreeWriter writer, WatchTable watches, JournalSink journal)
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
        journal.TransactionOpened(connection, transaction!.Id);
        request.Reply.AppendNumber(transaction.Id);
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
        journal.TransactionEnded(connection, tx.Id);
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

    /// <summary>
    /// A request naming a transaction the ring had open when the daemon stopped. Its state is gone: a commit
    /// answers EAGAIN, so the guest runs the transaction again; an abort, and any other request, get ENOENT, what C
    /// answers for a transaction that has ended. Ending it either way forgets the id.
    /// </summary>
    public XsError Lost(Connection connection, XsHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.Type != XsMessageType.TransactionEnd)
        {
            return XsError.ENOENT;
        }
        bool commit = payload.SequenceEqual("T\0"u8);
        if (!commit && !payload.SequenceEqual("F\0"u8))
        {
            return XsError.EINVAL;
        }
        connection.LostTransactions.Remove(header.TxId);
        journal.TransactionEnded(connection, header.TxId);
        return commit ? transactions.LostAtCommit() : XsError.ENOENT;
    }

    // Reused by every commit (the engine runs on one thread).
    private readonly List<int> _orderKeys = [];

    /// <summary>
    /// Replays the transaction's changes on the live tree; one watch event per node changed, in the order the
    /// transaction first accessed the nodes (<see cref="WatchTable.CoalesceCommitFrom"/>).
    /// </summary>
    private void ApplyCommit(Transaction tx)
    {
        TreeView liveView = writer.LiveView;
        int firstEvent = watches.PendingCount;
        watches.BeginCommit();
        List<int> orderKeys = _orderKeys;
        orderKeys.Clear();
        foreach (TransactionEffect effect in tx.Effects)
        {
            int before = watches.PendingCount;
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
            for (int i = before; i < watches.PendingCount; i++)
            {
                orderKeys.Add(tx.EventOrder(watches.PendingPath(i), effect.Path));
            }
        }
        watches.CoalesceCommitFrom(firstEvent, orderKeys);
    }
}
