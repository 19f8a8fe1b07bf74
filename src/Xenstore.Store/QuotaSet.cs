namespace Xenstore.Store;

/// <summary>
/// A set of quota values. 0 means unlimited (as SET_QUOTA specifies). Defaults are C xenstored's.
/// </summary>
public sealed class QuotaSet
{
    private readonly long[] _values;

    public QuotaSet()
    {
        _values = new long[Enum.GetValues<Quota>().Length];
        this[Quota.Nodes] = 1000;
        this[Quota.Watches] = 128;
        this[Quota.Transactions] = 10;
        this[Quota.Outstanding] = 20;
        this[Quota.TransactionNodes] = 1024;
        this[Quota.NodeSize] = 2048;
        this[Quota.PathMax] = 2048;
        this[Quota.NodePermissions] = 5;
        this[Quota.WatchEvents] = 1024;
    }

    /// <summary>A copy of <paramref name="source"/>'s values.</summary>
    public QuotaSet(QuotaSet source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _values = (long[])source._values.Clone();
    }

    public long this[Quota quota]
    {
        get => _values[(int)quota];
        set => _values[(int)quota] = value;
    }
}
