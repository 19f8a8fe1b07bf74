using Xenstore.Store.Transactions;
using Xenstore.Store.Watches;

namespace Xenstore.Store;

/// <summary>The engine's view of one client connection: identity, watches and open transactions.</summary>
internal sealed class Connection(int id, uint domid, bool privileged)
{
    public int Id { get; } = id;

    public uint Domid { get; } = domid;

    public bool Privileged { get; } = privileged;

    public List<Watch> Watches { get; } = [];

    public Dictionary<uint, Transaction> Transactions { get; } = [];

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

    /// <summary>Ids start at 1 per connection and skip 0 and ids still in use when the counter wraps.</summary>
    public uint NextTransactionId()
    {
        do
        {
            _lastTransactionId++;
        }
        while (_lastTransactionId == 0 || Transactions.ContainsKey(_lastTransactionId));
        return _lastTransactionId;
    }
}
