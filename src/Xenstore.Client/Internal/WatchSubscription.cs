namespace Xenstore.Client.Internal;

/// <summary>One token and the paths registered under it (one for a plain watch, many for a wait).</summary>
internal sealed class WatchSubscription
{
    private readonly List<string> _paths = [];

    public WatchSubscription(string token, WatchQueue queue)
    {
        Token = token;
        Queue = queue;
    }

    public string Token { get; }

    public WatchQueue Queue { get; }

    public string[] Paths
    {
        get
        {
            lock (_paths)
            {
                return [.. _paths];
            }
        }
    }

    public void AddPath(string path)
    {
        lock (_paths)
        {
            _paths.Add(path);
        }
    }

    public void RemovePath(string path)
    {
        lock (_paths)
        {
            _paths.Remove(path);
        }
    }
}
