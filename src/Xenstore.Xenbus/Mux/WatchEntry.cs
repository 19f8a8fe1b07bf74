namespace Xenstore.Xenbus.Mux;

/// <summary>
/// One of a client's watches: the path and token as the client gave them, the token used upstream (the client's,
/// prefixed with the client's number, so the daemon itself keeps a client's watches distinct and finds duplicates),
/// and what followed the token (the depth).
/// </summary>
internal sealed class WatchEntry(byte[] path, byte[] clientToken, byte[] upstreamToken, byte[] tail)
{
    public byte[] Path { get; } = path;

    public byte[] ClientToken { get; } = clientToken;

    public byte[] UpstreamToken { get; } = upstreamToken;

    public byte[] Tail { get; } = tail;

    /// <summary>The upstream session it is registered (and counted against the watch limit) in.</summary>
    public int Session { get; set; }

    public byte[] RegisterPayload() => Messages.JoinPathToken(Path, UpstreamToken, Tail);

    public byte[] UnregisterPayload() => Messages.JoinPathToken(Path, UpstreamToken, []);

    /// <summary>Whether an UNWATCH of <paramref name="path"/> and <paramref name="upstreamToken"/> names this watch.</summary>
    public bool Matches(ReadOnlySpan<byte> path, ReadOnlySpan<byte> upstreamToken, uint domain) =>
        upstreamToken.SequenceEqual(UpstreamToken)
        && (path.SequenceEqual(Path) || Canonical(path, domain).SequenceEqual(Canonical(Path, domain)));

    /// <summary>A relative path is relative to the domain's home, as the daemon resolves it.</summary>
    private static byte[] Canonical(ReadOnlySpan<byte> path, uint domain)
    {
        if (!path.IsEmpty && path[0] is (byte)'/' or (byte)'@')
        {
            return path.ToArray();
        }
        string home = "/local/domain/" + domain.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/";
        return [.. System.Text.Encoding.ASCII.GetBytes(home), .. path];
    }
}
