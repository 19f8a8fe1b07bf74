namespace Xenstore.Store;

/// <summary>A watch as a live update carries it: canonical path, token, relative flag, depth (-1 unlimited).</summary>
public sealed record WatchRecord(string Path, string Token, bool Relative, int Depth);
