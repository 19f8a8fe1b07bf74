namespace Xenstore.Client;

/// <summary>
/// Something under a watched path changed. Treat it as "re-read the state", never as a value: events for the same
/// path are coalesced while queued, and a watch fires once when it is registered.
/// </summary>
/// <param name="Path">The path that changed, as the daemon reported it (relative for relative watches).</param>
/// <param name="Token">The watch's token.</param>
/// <param name="IsOverflow">
/// True when the watch's queue overflowed and events were lost: re-read everything the watch covers.
/// <see cref="Path"/> is then the watched path.
/// </param>
public sealed record XenstoreWatchEvent(string Path, string Token, bool IsOverflow = false);
