namespace Xenstore.Store.Tree;

/// <summary>Walks a subtree without recursion, so a deep tree cannot exhaust the stack (XSA-418).</summary>
internal static class NodeWalk
{
    /// <summary>
    /// The node, then its descendants in pre-order with children in list order. Children of a node for which
    /// <paramref name="descend"/> returns false are not visited.
    /// </summary>
    public static IEnumerable<(string Path, Node Node)> PreOrder(string path, Node node, Func<Node, bool>? descend = null)
    {
        var stack = new Stack<(string, Node)>();
        stack.Push((path, node));
        while (stack.Count > 0)
        {
            (string currentPath, Node current) = stack.Pop();
            yield return (currentPath, current);
            if (descend is not null && !descend(current))
            {
                continue;
            }
            Node[] children = current.Children.Items.ToArray();
            for (int i = children.Length - 1; i >= 0; i--)
            {
                stack.Push((ChildPath(currentPath, children[i].Name), children[i]));
            }
        }
    }

    public static string ChildPath(string parent, string name) => parent == "/" ? "/" + name : parent + "/" + name;
}
