namespace Xenstore.Cli.Top;

/// <summary>The orders of <c>xenstore top</c>, each with the key that selects it.</summary>
internal enum TopSort
{
    Load,
    Nodes,
    Bytes,
    Watches,
    Transactions,
    Refusals,
    Store,
    Domid,
}

internal static class TopSorts
{
    public static readonly (char Key, TopSort Sort, string Title)[] Keys =
    [
        ('r', TopSort.Load, "req/s"),
        ('n', TopSort.Nodes, "nodes"),
        ('b', TopSort.Bytes, "bytes"),
        ('w', TopSort.Watches, "watches"),
        ('t', TopSort.Transactions, "transactions"),
        ('f', TopSort.Refusals, "refusals"),
        ('s', TopSort.Store, "store%"),
        ('d', TopSort.Domid, "domid"),
    ];

    public static TopSort? FromKey(char key) => Keys.Where(k => k.Key == key).Select(k => (TopSort?)k.Sort).FirstOrDefault();

    public static string Title(TopSort sort) => Keys.First(k => k.Sort == sort).Title;

    /// <summary>Highest first (domid: lowest first); ties by requests in total, then domid.</summary>
    public static IReadOnlyList<TopDomain> Apply(IEnumerable<TopDomain> domains, TopSort sort)
    {
        if (sort == TopSort.Domid)
        {
            return domains.OrderBy(d => d.Domid).ToList();
        }
        Func<TopDomain, double> key = sort switch
        {
            TopSort.Nodes => d => d.Nodes,
            TopSort.Bytes => d => d.Bytes,
            TopSort.Watches => d => d.Watches,
            TopSort.Transactions => d => d.Transactions,
            TopSort.Refusals => d => d.Refusals,
            TopSort.Store => d => d.StorePercent,
            _ => d => d.RequestsPerSecond,
        };
        return domains.OrderByDescending(key).ThenByDescending(d => d.Requests).ThenBy(d => d.Domid).ToList();
    }
}
