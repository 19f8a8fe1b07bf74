using Xenstore.Protocol;

namespace Xenstore.Store;

public sealed partial class XenstoreEngine
{
    /// <summary>
    /// Validates a path argument and returns its canonical form. Unprivileged callers are held to
    /// <see cref="Quota.PathMax"/>, measured below their home so a path survives a change of domid digits.
    /// </summary>
    private XsError ResolvePath(Connection connection, ReadOnlySpan<byte> raw, out string path, out XsPathKind kind)
    {
        kind = XsPath.Classify(raw);
        if (kind == XsPathKind.Invalid)
        {
            path = "";
            return XsError.EINVAL;
        }
        path = XsPath.Canonicalize(raw, kind, connection.Domid);
        if (!connection.Privileged && !_domains.Allows(connection.Domid, Quota.PathMax, XsPath.RelativeLength(path)))
        {
            return XsError.EINVAL;
        }
        return XsError.None;
    }

    /// <summary>Resolves the single argument of READ, MKDIR, RM, DIRECTORY, GET_PERMS: a node path, not special.</summary>
    private XsError ResolveNodePath(Connection connection, ReadOnlySpan<byte> payload, out string path)
    {
        path = "";
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> raw))
        {
            return XsError.EINVAL;
        }
        XsError error = ResolvePath(connection, raw, out path, out XsPathKind kind);
        return error != XsError.None ? error : kind == XsPathKind.Special ? XsError.EINVAL : XsError.None;
    }

    /// <summary>
    /// The access a connection has to a node with these permissions (C's perm_for_conn): privileged connections
    /// and the owner (or the owner's SET_TARGET holder) have all; otherwise the first ACL entry for the domain or
    /// its target; otherwise an entry for DOMID_ANY; otherwise the owner entry's letter.
    /// </summary>
    private XsAccess AccessFor(Connection connection, XsPermission[] perms)
    {
        if (connection.Privileged)
        {
            return XsAccess.Both;
        }
        uint domid = connection.Domid;
        uint? target = _domains.TargetOf(domid);
        if (perms[0].Domid == domid || perms[0].Domid == target)
        {
            return XsAccess.Both;
        }
        for (int i = 1; i < perms.Length; i++)
        {
            if (perms[i].Domid == domid || perms[i].Domid == target)
            {
                return perms[i].Access;
            }
        }
        for (int i = 1; i < perms.Length; i++)
        {
            if (perms[i].Domid == XsConstants.DomidAny)
            {
                return perms[i].Access;
            }
        }
        return perms[0].Access;
    }

    private bool Has(Connection connection, XsPermission[] perms, XsAccess needed) =>
        (AccessFor(connection, perms) & needed) == needed;

    /// <summary>
    /// Existence hiding (C's behaviour): a failure on a path is reported as is only when the caller holds the
    /// needed right on the nearest existing ancestor; otherwise EACCES, so a domain cannot probe what it may not see.
    /// </summary>
    private XsError Hide(Connection connection, TreeView view, string path, XsAccess needed, XsError original)
    {
        if (connection.Privileged)
        {
            return original;
        }
        (Node node, string nodePath) = view.Tree.NearestExisting(path);
        view.Transaction?.Record(nodePath, node);
        return Has(connection, node.Perms, needed) ? original : XsError.EACCES;
    }

    /// <summary>The limit a connection's transactions have on accessed nodes; 0 when unlimited.</summary>
    private int TransactionNodeLimit(Connection connection) =>
        connection.Privileged ? 0 : (int)Math.Min(int.MaxValue, _domains.QuotaFor(connection.Domid, Quota.TransactionNodes));
}
