namespace Xenstore.Store;

/// <summary>Wire and command-line names of <see cref="Quota"/> values.</summary>
public static class QuotaNames
{
    private static readonly (Quota Quota, string Name)[] s_names =
    [
        (Quota.Nodes, "nodes"),
        (Quota.Watches, "watches"),
        (Quota.Transactions, "transactions"),
        (Quota.Outstanding, "outstanding"),
        (Quota.TransactionNodes, "transaction-nodes"),
        (Quota.NodeSize, "node-size"),
        (Quota.PathMax, "path-max"),
        (Quota.NodePermissions, "node-permissions"),
        (Quota.WatchEvents, "watch-events"),
    ];

    public static IEnumerable<Quota> All => s_names.Select(n => n.Quota);

    public static string Name(Quota quota) => s_names.First(n => n.Quota == quota).Name;

    /// <summary>Accepts the 4.22 names and the 4.17 alias <c>permissions</c>.</summary>
    public static bool TryParse(string name, out Quota quota)
    {
        if (name == "permissions")
        {
            quota = Quota.NodePermissions;
            return true;
        }
        foreach ((Quota q, string n) in s_names)
        {
            if (n == name)
            {
                quota = q;
                return true;
            }
        }
        quota = default;
        return false;
    }
}
