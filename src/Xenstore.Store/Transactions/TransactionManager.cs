using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Transactions;

/// <summary>
/// Opens and ends transactions: the transaction quota, the snapshot each one works on, commit validation against
/// the live tree, the node quota checked again at commit, and the counters the metrics report.
/// </summary>
internal sealed class TransactionManager(DomainTable domains, LiveTree live)
{
    /// <summary>Open transactions over all connections.</summary>
    public int Count { get; private set; }

    /// <summary>Transactions committed since start.</summary>
    public long Committed { get; private set; }

    /// <summary>Transactions aborted by their client (or refused at commit for a quota) since start.</summary>
    public long Aborted { get; private set; }

    /// <summary>Commits answered EAGAIN since start.</summary>
    public long Conflicted { get; private set; }

    /// <summary>Opens a transaction for a connection, within its domain's transaction quota.</summary>
    public XsError TryStart(Connection connection, out Transaction? transaction)
    {
        transaction = null;
        uint domid = connection.Domid;
        if (!connection.Privileged && !domains.Allows(domid, Quota.Transactions, domains.Usage(domid, Accounted.Transactions) + 1))
        {
            return XsError.ENOSPC;
        }
        (NodeTree tree, int snapshotEpoch) = live.Branch();
        int nodeLimit = connection.Privileged ? 0 : (int)Math.Min(int.MaxValue, domains.QuotaFor(domid, Quota.TransactionNodes));
        uint id = connection.NextTransactionId();
        transaction = new Transaction(id, connection, tree, snapshotEpoch, nodeLimit);
        connection.Transactions.Add(id, transaction);
        domains.Charge(domid, Accounted.Transactions, 1);
        Count++;
        return XsError.None;
    }

    /// <summary>
    /// Ends a transaction. An abort always succeeds. A commit succeeds (None) when nothing it accessed changed
    /// meanwhile (else EAGAIN) and its new nodes still fit the owner's node quota (else ENOSPC); the caller then
    /// replays its effects on the live tree.
    /// </summary>
    public XsError End(Transaction transaction, bool commit)
    {
        Close(transaction);
        if (!commit)
        {
            Aborted++;
            return XsError.None;
        }
        if (HasConflict(transaction))
        {
            Conflicted++;
            return XsError.EAGAIN;
        }
        if (WouldExceedNodeQuota(transaction))
        {
            Aborted++;
            return XsError.ENOSPC;
        }
        Committed++;
        return XsError.None;
    }

    /// <summary>The commit of a transaction lost in a restart: a conflict like any other, so the client retries.</summary>
    public XsError LostAtCommit()
    {
        Conflicted++;
        return XsError.EAGAIN;
    }

    /// <summary>Connection close, RESET_WATCHES and domain release: every open transaction of the connection goes.</summary>
    public void DropAll(Connection connection)
    {
        foreach (Transaction transaction in connection.Transactions.Values.ToArray())
        {
            Close(transaction);
        }
    }

    private void Close(Transaction transaction)
    {
        transaction.Owner.Transactions.Remove(transaction.Id);
        Count--;
        domains.Charge(transaction.Owner.Domid, Accounted.Transactions, -1);
        live.Release(transaction.SnapshotEpoch);
    }

    /// <summary>
    /// Commit validation: every node the transaction read or wrote must be as it was in the snapshot (same
    /// existence and generation). A parent whose child list changed does not conflict unless the transaction
    /// listed it: creating or removing different children merges.
    /// </summary>
    private bool HasConflict(Transaction transaction)
    {
        foreach ((string path, TransactionAccess access) in transaction.Accessed)
        {
            Node? current = live.Nodes.Get(path);
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
    private bool WouldExceedNodeQuota(Transaction transaction)
    {
        uint domid = transaction.Owner.Domid;
        int delta = transaction.DeltaFor(domid);
        if (transaction.Owner.Privileged || delta <= 0)
        {
            return false;
        }
        return !domains.Allows(domid, Quota.Nodes, domains.Usage(domid, Accounted.Nodes) + delta);
    }
}
