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
    /// records every path it reads, so it needs the path as a string anyway.
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
        if (!connection.Privileged && !domains.Allows(connection.Domid, Quota.PathMax, XsPath.RelativeLength(path)))
        {
            return PathLookup.Unresolved;
        }
        node = tree.Get(path);
        if (node is not null)
        {
            return PathLookup.Found;
        }
        missingPath = connection.Privileged ? null : new string(path);
        return PathLookup.Missing;
    }

    /// <summary>
    /// The answer for a node that does not exist, as <see cref="HideExistence"/> gives it in the live tree
    /// (<paramref name="missingPath"/> from <see cref="LookUp"/>: null for a privileged caller).
    /// </summary>
    public XsError Missing(Connection connection, TreeView view, string? missingPath, XsAccess needed) =>
        missingPath is null ? XsError.ENOENT : HideExistence(connection, view, missingPath, needed, XsError.ENOENT);

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
