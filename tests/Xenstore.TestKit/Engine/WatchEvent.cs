namespace Xenstore.TestKit.Engine;

/// <summary>A watch event as a client sees it.</summary>
public readonly record struct WatchEvent(string Path, string Token)
{
    public override string ToString() => $"{Path} [{Token}]";
}
