using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Requests;

/// <summary>The checks every request handler makes: path arguments, and permissions with existence hiding.</summary>
internal sealed class RequestChecks(DomainTable domains)
{
    /// <summary>Longest canonical path looked up without a string; longer ones take the general way.</summary>
    private const int InlinePathChars = 256;

    /// <summary>
    /// Where <see cref="LookUp"/> builds a canonical path: one buffer, as the engine runs on one thread, rather
    /// than a stack buffer the runtime would clear on every call.
    /// </summary>
    private readonly char[] _canonical = new char[InlinePathChars];

    /// <summary>
    /// The common case of a node path argument, answered without allocating: a valid, non-special path within the
    /// caller's <see cref="Quota.PathMax"/>, looked up in <paramref name="tree"/>. <see cref="PathLookup.Found"/>
    /// gives the node; <see cref="PathLookup.Missing"/> the canonical path (only for an unprivileged caller, whose
    /// error hides or reveals by the nearest ancestor: see <see cref="HideExistence"/>; null otherwise);
    /// <see cref="PathLookup.Unresolved"/> (invalid, special, too long, over quota) leaves the decision to
    /// <see cref="ResolvePath"/>, which gives the error. Read-only requests of the live tree use it: a transaction
    /// records every path it reads, so it needs the path as a string anyway. An absolute path found is remembered
    /// by the tree (<see cref="NodeTree.RememberPath"/>) for <see cref="TryFindLive"/>.
    /// </summary>
    public PathLookup LookUp(Connection connection, ReadOnlySpan<byte> raw, NodeTree tree, out Node? node, out string? missingPath)
    {
        node = null;
        missingPath = null;
        XsPathKind kind = XsPath.Classify(raw);
        if (kind is XsPathKind.Invalid or XsPathKind.Special || raw.Length > InlinePathChars - XsPath.HomePrefixMax)
        {
            return PathLookup.Unresolved;
        }
        ReadOnlySpan<char> path = _canonical.AsSpan(0, XsPath.Canonicalize(raw, kind, connection.Domid, _canonical));
        int relativeLength = XsPath.RelativeLength(path);
        if (!connection.Privileged && !domains.Allows(connection.Domid, Quota.PathMax, relativeLength))
        {
            return PathLookup.Unresolved;
        }
        node = tree.Get(path);
        if (node is not null)
        {
            if (kind == XsPathKind.Absolute)
            {
                tree.RememberPath(raw, node, relativeLength);
            }
            return PathLookup.Found;
        }
        missingPath = connection.Privileged ? null : new string(path);
        return PathLookup.Missing;
    }

    /// <summary>
    /// The allocation-free way of a read-only request (READ, DIRECTORY, GET_PERMS) given its whole payload: true
    /// when it decided, with the node found, or with no node and <paramref name="error"/> the answer for a missing
    /// one (hidden or revealed as its nearest ancestor decides, <see cref="HideExistence"/>); false when the request
    /// must resolve its argument the general way (a transaction's view, a payload that is not one NUL-terminated
    /// argument, or what <see cref="LookUp"/> leaves unresolved). A path the live tree remembers
    /// (<see cref="NodeTree.FindRemembered"/>) is found without being validated again: it was valid when
    /// remembered, and holds no NUL, so the payload is its one argument.
    /// </summary>
    public bool TryFindLive(Connection connection, TreeView view, ReadOnlySpan<byte> payload, XsAccess needed, out Node? node, out XsError error)
    {
        node = null;
        error = XsError.None;
        if (!view.IsLive || payload.IsEmpty || payload[^1] != 0)
        {
            return false;
        }
        ReadOnlySpan<byte> raw = payload[..^1];
        if (view.Tree.FindRemembered(raw, out int relativeLength) is { } remembered)
        {
            if (!connection.Privileged && !domains.Allows(connection.Domid, Quota.PathMax, relativeLength))
            {
                return false;
            }
            node = remembered;
            return true;
        }
        if (raw.Contains((byte)0))
        {
            return false;
        }
        switch (LookUp(connection, raw, view.Tree, out node, out string? missingPath))
        {
            case PathLookup.Found:
                return true;
            case PathLookup.Missing:
                error = missingPath is null ? XsError.ENOENT : HideExistence(connection, view, missingPath, needed, XsError.ENOENT);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Validates a path argument and returns its canonical form. Unprivileged callers are held to
    /// <see cref="Quota.PathMax"/>, measured below their home so a path survives a change of domid digits.
    /// </summary>
    public XsError ResolvePath(Connection connection, ReadOnlySpan<byte> raw, out string path, out XsPathKind kind)
    {
        kind = XsPath.Classify(raw);
        if (kind == XsPathKind.Invalid)
        {
            path = "";
            return XsError.EINVAL;
        }
        path = XsPath.Canonicalize(raw, kind, connection.Domid);
        if (!connection.Privileged && !domains.Allows(connection.Domid, Quota.PathMax, XsPath.RelativeLength(path)))
        {
            return XsError.EINVAL;
        }
        return XsError.None;
    }

    /// <summary>Resolves the single argument of READ, MKDIR, RM, DIRECTORY, GET_PERMS: a node path, not special.</summary>
    public XsError ResolveNodePath(Connection connection, ReadOnlySpan<byte> payload, out string path)
    {
        path = "";
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> raw))
        {
            return XsError.EINVAL;
        }
        XsError error = ResolvePath(connection, raw, out path, out XsPathKind kind);
        return error != XsError.None ? error : kind == XsPathKind.Special ? XsError.EINVAL : XsError.None;
    }

    public Caller CallerOf(Connection connection) => domains.CallerOf(connection);

    public bool HasAccess(Connection connection, XsPermission[] perms, XsAccess needed) =>
        connection.Privileged || AccessPolicy.HasAccess(CallerOf(connection), perms, needed);

    /// <summary>
    /// <see cref="AccessPolicy.HideExistence"/> on the nearest existing ancestor, which a transaction records as
    /// read (its existence decided the answer).
    /// </summary>
    public XsError HideExistence(Connection connection, TreeView view, string path, XsAccess needed, XsError original)
    {
        if (connection.Privileged)
        {
            return original;
        }
        (Node node, string nodePath) = view.Tree.NearestExisting(path);
        XsError recorded = view.Transaction?.TryRecord(nodePath, node) ?? XsError.None;
        return recorded != XsError.None ? recorded : AccessPolicy.HideExistence(CallerOf(connection), node.Perms, needed, original);
    }
}
