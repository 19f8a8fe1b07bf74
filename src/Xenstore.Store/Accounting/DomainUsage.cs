namespace Xenstore.Store;

/// <summary>What one domain holds in the store at one moment.</summary>
/// <param name="Domid">The domain.</param>
/// <param name="Name">The value of <c>/local/domain/N/name</c>, or null when there is none.</param>
/// <param name="Nodes">Nodes it owns (the root is nobody's), as the nodes quota counts them.</param>
/// <param name="Bytes">The bytes of those nodes' names and values.</param>
/// <param name="Watches">Watches its connections registered, as the watches quota counts them.</param>
/// <param name="Transactions">Transactions its connections have open.</param>
/// <param name="Memory">The engine's structures it accounts for, estimated.</param>
public readonly record struct DomainUsage(
    uint Domid,
    string? Name,
    int Nodes,
    long Bytes,
    int Watches,
    int Transactions,
    StoreMemory Memory);

/// <summary>What one connection holds in the engine.</summary>
public readonly record struct ConnectionUsage(int Id, uint Domid, int Watches, int Transactions);

/// <summary>One registered watch, for drilling into a connection.</summary>
public readonly record struct WatchUsage(int ConnectionId, string Path, string Token);

/// <summary>
/// Bytes of the engine's structures, estimated from their layout on a 64-bit runtime: node objects (with their
/// inline values and permission lists), values stored outside a node, child lists (with the names' strings) and
/// watches (with their path and token strings). Estimates, not measurements: they say where memory goes.
/// </summary>
public readonly record struct StoreMemory(long Nodes, long Values, long ChildLists, long Watches)
{
    public long Total => Nodes + Values + ChildLists + Watches;

    public static StoreMemory operator +(StoreMemory a, StoreMemory b) =>
        new(a.Nodes + b.Nodes, a.Values + b.Values, a.ChildLists + b.ChildLists, a.Watches + b.Watches);
}
