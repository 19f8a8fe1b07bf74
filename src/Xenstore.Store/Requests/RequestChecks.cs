using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Requests;

/// <summary>The checks every request handler makes: path arguments, and permissions with existence hiding.</summary>
internal sealed class RequestChecks(DomainTable domains)
{
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
