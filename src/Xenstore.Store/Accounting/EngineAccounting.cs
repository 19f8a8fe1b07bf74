using System.Globalization;
using System.Text;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;

namespace Xenstore.Store;

/// <summary>
/// Who holds what, computed when asked (a walk of the tree): nothing here costs a request anything. Store thread.
/// </summary>
public sealed class EngineAccounting
{
    // Layout estimates on a 64-bit runtime: object header and method table, then the fields.
    private const int NodeObject = 72;
    private const int ArrayHeader = 24;
    private const int PermissionEntry = 8;
    private const int StringHeader = 22;
    private const int ChildListObject = 48;
    private const int ChildReference = 8;
    private const int WatchObject = 64;

    private readonly Dictionary<int, Connection> _connections;
    private readonly LiveTree _tree;
    private readonly DomainTable _domains;

    internal EngineAccounting(Dictionary<int, Connection> connections, LiveTree tree, DomainTable domains)
    {
        _connections = connections;
        _tree = tree;
        _domains = domains;
    }

    /// <summary>
    /// Every domain that owns a node, has a connection or has a record, by domid. The root node's memory is
    /// domain 0's (its node count, like the quota's, leaves the root out).
    /// </summary>
    public IReadOnlyDictionary<uint, DomainUsage> Domains()
    {
        var nodes = new Dictionary<uint, (int Count, long Bytes, StoreMemory Memory)>();
        var stack = new Stack<Node>();
        stack.Push(_tree.Root);
        while (stack.Count > 0)
        {
            Node node = stack.Pop();
            (int count, long bytes, StoreMemory memory) = nodes.GetValueOrDefault(node.Owner);
            bool isRoot = ReferenceEquals(node, _tree.Root);
            int children = node.Children.Count;
            long childList = children == 0 ? 0 : ChildListObject + ArrayHeader + (ChildReference * (long)children);
            foreach (Node child in node.Children.Items)
            {
                childList += StringHeader + (2L * child.Name.Length);
                stack.Push(child);
            }
            int valueLength = node.Value.Length;
            var own = new StoreMemory(
                NodeObject + ArrayHeader + (PermissionEntry * (long)node.Perms.Length),
                valueLength > Node.InlineCapacity ? ArrayHeader + valueLength : 0,
                childList,
                0);
            nodes[node.Owner] = (isRoot ? count : count + 1, isRoot ? bytes : bytes + node.Name.Length + valueLength, memory + own);
        }
        var watches = new Dictionary<uint, long>();
        foreach (Connection connection in _connections.Values)
        {
            foreach (Watches.Watch watch in connection.Watches)
            {
                watches[connection.Domid] = watches.GetValueOrDefault(connection.Domid)
                    + WatchObject + (2 * StringHeader) + (2L * (watch.Path.Length + watch.Token.Length));
            }
        }
        var domids = new SortedSet<uint>(nodes.Keys);
        domids.UnionWith(watches.Keys);
        domids.UnionWith(_connections.Values.Select(c => c.Domid));
        domids.UnionWith(_domains.All.Select(d => d.Domid));
        var usage = new Dictionary<uint, DomainUsage>();
        foreach (uint domid in domids)
        {
            (int count, long bytes, StoreMemory memory) = nodes.GetValueOrDefault(domid);
            memory = memory with { Watches = watches.GetValueOrDefault(domid) };
            usage[domid] = new DomainUsage(domid, NameOf(domid), count, bytes,
                _domains.Usage(domid, Accounted.Watches), _domains.Usage(domid, Accounted.Transactions), memory);
        }
        return usage;
    }

    /// <summary>The value of <c>/local/domain/N/name</c>, as the toolstack wrote it; null when absent.</summary>
    public string? NameOf(uint domid)
    {
        Node? node = _tree.Nodes.Get(string.Create(CultureInfo.InvariantCulture, $"/local/domain/{domid}/name"));
        return node is null || node.Value.IsEmpty ? null : Encoding.UTF8.GetString(node.Value);
    }

    /// <summary>What a connection holds; null for a connection the engine does not know.</summary>
    public ConnectionUsage? Connection(int id) => _connections.TryGetValue(id, out Connection? connection)
        ? new ConnectionUsage(id, connection.Domid, connection.Watches.Count, connection.Transactions.Count)
        : null;

    /// <summary>The watches of a domain's connections, in registration order per connection.</summary>
    public IReadOnlyList<WatchUsage> WatchesOf(uint domid) =>
        _connections.Values.Where(c => c.Domid == domid)
            .SelectMany(c => c.Watches.Select(w => new WatchUsage(c.Id, w.Path, w.Token)))
            .ToList();
}
