using Xenstore.Store.Domains;

namespace Xenstore.Store.Tree;

/// <summary>CONTROL check and the tests' invariant: the tree's structure, its node count and the node accounting agree.</summary>
internal static class ConsistencyCheck
{
    /// <summary>Checks the tree and the accounting; returns null when consistent, else what is wrong.</summary>
    public static string? Run(LiveTree live, DomainTable domains)
    {
        var owned = new Dictionary<uint, int>();
        int count = 0;
        var stack = new Stack<Node>();
        stack.Push(live.Root);
        while (stack.Count > 0)
        {
            Node node = stack.Pop();
            count++;
            if (node.Perms.Length == 0)
            {
                return "node without permissions: " + node.Name;
            }
            if (node != live.Root)
            {
                owned[node.Owner] = owned.GetValueOrDefault(node.Owner) + 1;
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (Node child in node.Children.Items)
            {
                if (!names.Add(child.Name) || node.Children.Find(child.Name) != child)
                {
                    return "inconsistent children of " + node.Name;
                }
                stack.Push(child);
            }
        }
        if (count != live.NodeCount)
        {
            return $"node count {live.NodeCount} but {count} nodes in the tree";
        }
        foreach ((uint domid, int nodes) in owned)
        {
            int accounted = domains.Usage(domid, Accounted.Nodes);
            if (accounted != nodes)
            {
                return $"domain {domid} owns {nodes} nodes but {accounted} are accounted";
            }
        }
        foreach (Domain domain in domains.All)
        {
            if (domain.NodesOwned != owned.GetValueOrDefault(domain.Domid))
            {
                return $"domain {domain.Domid} accounts {domain.NodesOwned} nodes but owns {owned.GetValueOrDefault(domain.Domid)}";
            }
        }
        return null;
    }
}
