using Xenstore.Store.Transactions;
using Xenstore.Store.Watches;

namespace Xenstore.Store;

/// <summary>The engine's view of one client connection: identity, watches and open transactions.</summary>
internal sealed class Connection(int id, uint domid, bool privileged, ConnectionKind kind = ConnectionKind.Transient)
{
    public int Id { get; } = id;

    public uint Domid { get; } = domid;

    public bool Privileged { get; } = privileged;

    /// <summary>A domain's ring: its watches and open transactions are journalled and outlive a restart.</summary>
    public bool IsRing { get; } = kind != ConnectionKind.Transient;

    /// <summary>Forgotten by the engine (closed, or its domain released): no request of it runs any more.</summary>
    public bool Forgotten { get; set; }

    public List<Watch> Watches { get; } = [];

    /// <summary>
    /// Transactions the ring had open when the daemon stopped: their state is gone, so a commit answers EAGAIN (the
    /// guest retries) and anything else ENOENT, as for a transaction that ended. Their ids are not given out again
    /// until the guest has ended them.
    /// </summary>
    public SortedSet<uint> LostTransactions { get; } = [];

    public Dictionary<uint, Transaction> Transactions { get; } = [];

    /// <summary>
    /// The most bytes of changes an unprivileged connection's open transactions may hold together (XSA-326: a
    /// guest filling every transaction it may open with nodes of the largest size would otherwise hold some 40 MiB
    /// of the daemon's memory; C xenstored caps a domain's whole memory at 2.5 MB).
    /// </summary>
    public const long MaxTransactionBytes = 2 * 1024 * 1024;

    /// <summary>Whether this connection's open transactions may take <paramref name="more"/> bytes of changes.</summary>
    public bool MayHoldInTransactions(long more)
    {
        if (Privileged)
        {
            return true;
        }
        long held = more;
        foreach (Transaction transaction in Transactions.Values)
        {
            held += transaction.HeldBytes;
        }
        return held <= MaxTransactionBytes;
    }

    private uint _lastTransactionId;

    /// <summary>The watch registered with this path and token, if any.</summary>
    public Watch? FindWatch(string path, string token)
    {
        foreach (Watch watch in Watches)
        {
            if (watch.Path == path && watch.Token == token)
            {
                return watch;
            }
        }
        return null;
    }

    /// <summary>Ids start at 1 per connection and skip 0, ids still in use when the counter wraps, and lost ids.</summary>
    public uint NextTransactionId()
    {
        do
        {
            _lastTransactionId++;
        }
        while (_lastTransactionId == 0 || Transactions.ContainsKey(_lastTransactionId) || LostTransactions.Contains(_lastTransactionId));
        return _lastTransactionId;
    }
}
