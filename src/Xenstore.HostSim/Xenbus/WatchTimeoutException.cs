namespace Xenstore.HostSim.Xenbus;

/// <summary>A watch a party relied on did not bring what it waited for in time.</summary>
internal sealed class WatchTimeoutException(string path, string expected, string lastSeen, bool fired)
    : Exception($"watch on {path}: {(fired ? "no event brought" : "never fired for")} {expected} (last value: {lastSeen})")
{
    public string Path { get; } = path;

    public string LastSeen { get; } = lastSeen;
}
