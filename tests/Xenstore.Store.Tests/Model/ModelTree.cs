using Xenstore.Protocol;

namespace Xenstore.Store.Tests.Model;

/// <summary>A node of the reference model: plain data, copied whole when a transaction takes a snapshot.</summary>
public sealed class ModelNode
{
    public byte[] Value { get; set; } = [];

    public XsPermission[] Perms { get; set; } = [];

    /// <summary>Changes on creation, value write and permission change (never on a child change).</summary>
    public long Version { get; set; }

    /// <summary>Changes whenever a child is added or removed.</summary>
    public long ChildVersion { get; set; }

    /// <summary>Child names in insertion order.</summary>
    public List<string> Children { get; init; } = [];

    public ModelNode Clone() => new()
    {
        Value = Value,
        Perms = Perms,
        Version = Version,
        ChildVersion = ChildVersion,
        Children = [.. Children],
    };
}

/// <summary>The whole store as a dictionary from absolute path to node.</summary>
public sealed class ModelTree
{
    public Dictionary<string, ModelNode> Nodes { get; init; } = new(StringComparer.Ordinal);

    public ModelNode? Get(string path) => Nodes.GetValueOrDefault(path);

    public ModelTree Clone() => new()
    {
        Nodes = Nodes.ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal),
    };

    /// <summary>The closest existing node at or above a path.</summary>
    public string NearestExisting(string path)
    {
        while (!Nodes.ContainsKey(path))
        {
            path = XsPath.Parent(path);
        }
        return path;
    }

    public static string Child(string parent, string name) => parent == "/" ? "/" + name : parent + "/" + name;
}
