namespace Xenstore.Store.Watches;

/// <summary>A registered watch. Identity within a connection is (canonical path, token).</summary>
internal sealed class Watch(Connection owner, string path, string token, bool relative, int depth, long sequence)
{
    public Connection Owner { get; } = owner;

    /// <summary>Canonical absolute path, or a special <c>@</c> path.</summary>
    public string Path { get; } = path;

    public string Token { get; } = token;

    /// <summary>Registered with a relative path: events are reported relative to the owner's home.</summary>
    public bool Relative { get; } = relative;

    /// <summary>Registration order over the whole engine; events for one change go out in this order.</summary>
    public long Sequence { get; } = sequence;

    /// <summary>Levels below the watched node that fire it; -1 for unlimited.</summary>
    public int Depth { get; } = depth;
}
