using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Domains;
using Xenstore.Store.Persistence;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Requests;

/// <summary>
/// READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS and SET_PERMS, in the live tree or a transaction's:
/// argument parsing and checks, then the change through the tree writer.
/// </summary>
internal sealed class NodeRequests(RequestChecks checks, TreeWriter writer, DomainTable domains, WatchTable watches, JournalSink journal)
{
    // docs/misc/xenstore.txt "READ <path>|": the value, without a trailing NUL.
    public XsError Read(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        if (checks.TryFindLive(connection, view, payload, XsAccess.Read, out Node? found, out XsError missing))
        {
            return found is null ? missing : ReplyValue(request, connection, found);
        }
        XsError error = checks.ResolveNodePath(connection, payload, out string path);
        if (error != XsError.None)
        {
            return error;
        }
        error = view.GetAndRecord(path, out Node? node);
        if (error != XsError.None)
        {
            return error;
        }
        if (node is null)
        {
            return checks.HideExistence(connection, view, path, XsAccess.Read, XsError.ENOENT);
        }
        return ReplyValue(request, connection, node);
    }

    private XsError ReplyValue(RequestContext request, Connection connection, Node node)
    {
        if (!checks.HasAccess(connection, node.Perms, XsAccess.Read))
        {
            return XsError.EACCES;
        }
        request.Reply.Append(node.Value);
        return XsError.None;
    }

    // "WRITE <path>|<value|>": creates missing parents; the value is every byte after the first NUL.
    public XsError Write(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        XsError error = ResolvePathAndRest(connection, payload, out string path, out XsPathKind kind, out ReadOnlySpan<byte> rest);
        if (error != XsError.None)
        {
            return error;
        }
        if (kind == XsPathKind.Special)
        {
            return XsError.EINVAL;
        }
        ReadOnlySpan<byte> value = rest;
        if (!connection.Privileged && !domains.Allows(connection.Domid, Quota.NodeSize, value.Length))
        {
            return XsError.ENOSPC;
        }
        if (view.Transaction is not null && !connection.MayHoldInTransactions(path.Length + value.Length))
        {
            return XsError.ENOSPC;
        }
        error = view.GetAndRecord(path, out Node? node);
        if (error != XsError.None)
        {
            return error;
        }
        if (node is not null)
        {
            if (!checks.HasAccess(connection, node.Perms, XsAccess.Write))
            {
                return XsError.EACCES;
            }
            byte[] copy = value.ToArray();
            writer.SetValue(view, path, copy);
            view.Transaction?.AddEffect(new WriteEffect(path, copy));
            return request.Ok();
        }
        error = CheckCreate(connection, view, path);
        if (error != XsError.None)
        {
            return error;
        }
        byte[] newValue = value.ToArray();
        writer.CreatePath(view, path, newValue, connection.Domid, connection.Privileged);
        view.Transaction?.AddEffect(new WriteEffect(path, newValue));
        return request.Ok();
    }

    // "MKDIR <path>|": an existing node is left alone, with no event.
    public XsError Mkdir(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        XsError error = checks.ResolveNodePath(connection, payload, out string path);
        if (error != XsError.None)
        {
            return error;
        }
        error = view.GetAndRecord(path, out Node? node);
        if (error != XsError.None)
        {
            return error;
        }
        if (node is not null)
        {
            return checks.HasAccess(connection, node.Perms, XsAccess.Write) ? request.Ok() : XsError.EACCES;
        }
        error = CheckCreate(connection, view, path);
        if (error != XsError.None)
        {
            return error;
        }
        if (view.Transaction is not null && !connection.MayHoldInTransactions(path.Length))
        {
            return XsError.ENOSPC;
        }
        writer.CreatePath(view, path, [], connection.Domid, connection.Privileged);
        view.Transaction?.AddEffect(new MkdirEffect(path));
        return request.Ok();
    }

    /// <summary>
    /// Checks that a missing node may be created: write access on the nearest existing ancestor and room in the
    /// creator's node quota for every level created. Records the ancestor and each new level in a transaction.
    /// </summary>
    private XsError CheckCreate(Connection connection, TreeView view, string path)
    {
        (Node ancestor, string ancestorPath) = view.Tree.NearestExisting(path);
        XsError error = view.Transaction?.TryRecord(ancestorPath, ancestor) ?? XsError.None;
        if (error != XsError.None)
        {
            return error;
        }
        if (!checks.HasAccess(connection, ancestor.Perms, XsAccess.Write))
        {
            return XsError.EACCES;
        }
        int newLevels = XsPath.Depth(path) - XsPath.Depth(ancestorPath);
        if (view.Transaction is { } tx)
        {
            for (string level = path; level != ancestorPath; level = XsPath.Parent(level))
            {
                error = tx.TryRecord(level, null);
                if (error != XsError.None)
                {
                    return error;
                }
            }
        }
        if (!connection.Privileged)
        {
            long owned = domains.Usage(connection.Domid, Accounted.Nodes) + (view.Transaction?.DeltaFor(connection.Domid) ?? 0);
            if (!domains.Allows(connection.Domid, Quota.Nodes, owned + newLevels))
            {
                return XsError.ENOSPC;
            }
        }
        return XsError.None;
    }

    // "RM <path>|": removes the subtree. A missing node under an existing parent is not an error.
    public XsError Rm(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        XsError error = checks.ResolveNodePath(connection, payload, out string path);
        if (error != XsError.None)
        {
            return error;
        }
        if (path == "/")
        {
            return XsError.EINVAL;
        }
        error = view.GetAndRecord(path, out Node? node);
        if (error != XsError.None)
        {
            return error;
        }
        if (node is null)
        {
            error = view.GetAndRecord(XsPath.Parent(path), out Node? parent);
            if (error != XsError.None)
            {
                return error;
            }
            if (parent is null)
            {
                return checks.HideExistence(connection, view, path, XsAccess.Write, XsError.ENOENT);
            }
            return checks.HasAccess(connection, parent.Perms, XsAccess.Write) ? request.Ok() : XsError.EACCES;
        }
        if (!checks.HasAccess(connection, node.Perms, XsAccess.Write))
        {
            return XsError.EACCES;
        }
        if (view.Transaction is { } tx)
        {
            if (!connection.MayHoldInTransactions(path.Length))
            {
                return XsError.ENOSPC;
            }
            // Removing a subtree touches every node in it, as in C: a concurrent change below means EAGAIN.
            foreach ((string descendant, Node child) in NodeWalk.PreOrder(path, node).Skip(1))
            {
                error = tx.TryRecord(descendant, child);
                if (error != XsError.None)
                {
                    return error;
                }
            }
        }
        writer.Remove(view, path);
        view.Transaction?.AddEffect(new RemoveEffect(path));
        return request.Ok();
    }

    // "DIRECTORY <path>|": child names, each NUL-terminated, in insertion order.
    public XsError Directory(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        Node? node;
        if (checks.TryFindLive(connection, view, payload, XsAccess.Read, out node, out XsError missing))
        {
            if (node is null)
            {
                return missing;
            }
            if (!checks.HasAccess(connection, node.Perms, XsAccess.Read))
            {
                return XsError.EACCES;
            }
        }
        else
        {
            XsError error = checks.ResolveNodePath(connection, payload, out string path);
            if (error != XsError.None)
            {
                return error;
            }
            error = GetListable(connection, view, path, out node);
            if (error != XsError.None)
            {
                return error;
            }
        }
        // Too big is known before any name is copied.
        if (node!.Children.NameBytes > XsConstants.PayloadMax)
        {
            return XsError.E2BIG;
        }
        foreach (Node child in node.Children.Items)
        {
            request.Reply.AppendAscii(child.Name);
            request.Reply.AppendByte(0);
        }
        return XsError.None;
    }

    // "DIRECTORY_PART <path>|<offset>|": <generation>| then as many whole names from the byte offset as fit,
    // and one more NUL when the list ends in this chunk. The generation changes whenever the children change.
    public XsError DirectoryPart(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        Span<Range> args = stackalloc Range[2];
        if (!PayloadArgs.TrySplitExact(payload, args, 2))
        {
            return XsError.EINVAL;
        }
        XsError error = checks.ResolvePath(connection, payload[args[0]], out string path, out XsPathKind kind);
        if (error != XsError.None)
        {
            return error;
        }
        if (kind == XsPathKind.Special || !PayloadArgs.TryParseUInt32(payload[args[1]], out uint offset))
        {
            return XsError.EINVAL;
        }
        error = GetListable(connection, view, path, out Node? node);
        if (error != XsError.None)
        {
            return error;
        }
        request.Reply.AppendNumber(node!.ChildrenGeneration);
        request.Reply.AppendByte(0);
        if (node.Children.PartListing is { } listing)
        {
            AppendPart(request.Reply, listing, offset);
            return XsError.None;
        }
        ReadOnlySpan<Node> children = node.Children.Items;
        long position = 0;
        int index = 0;
        if (_partCursor.Children == node.Children && _partCursor.Generation == node.ChildrenGeneration
            && _partCursor.Count == children.Length && _partCursor.Position <= offset)
        {
            position = _partCursor.Position;
            index = _partCursor.Index;
        }
        bool complete = true;
        for (; index < children.Length; index++)
        {
            Node child = children[index];
            int entryLength = child.Name.Length + 1;
            long entryEnd = position + entryLength;
            if (entryEnd > offset)
            {
                int skip = (int)Math.Max(0, offset - position);
                // Keep one byte for the final NUL that marks the end of the list.
                if (request.Reply.Length + entryLength - skip + 1 > XsConstants.PayloadMax)
                {
                    complete = false;
                    _partCursor = new PartCursor(node.Children, node.ChildrenGeneration, children.Length, position, index);
                    break;
                }
                request.Reply.AppendAscii(child.Name[Math.Min(skip, child.Name.Length)..]);
                request.Reply.AppendByte(0);
            }
            position = entryEnd;
        }
        if (complete)
        {
            request.Reply.AppendByte(0);
        }
        return XsError.None;
    }

    /// <summary>
    /// One part of a listing held as bytes, cut as the loop over children above cuts it: whole entries from the
    /// offset (the first one's tail when the offset falls inside a name) while one byte stays free for the NUL
    /// that ends the list, which is added once the rest fits.
    /// </summary>
    private static void AppendPart(ReplyBuffer reply, byte[] listing, uint offset)
    {
        int start = (int)Math.Min(offset, (uint)listing.Length);
        int room = XsConstants.PayloadMax - reply.Length - 1;
        if (listing.Length - start <= room)
        {
            reply.Append(listing.AsSpan(start));
            reply.AppendByte(0);
            return;
        }
        int cut = listing.AsSpan(start, room).LastIndexOf((byte)0);
        reply.Append(listing.AsSpan(start, cut + 1));
    }

    /// <summary>
    /// Where the last DIRECTORY_PART chunk stopped: a reader walking a big directory asks for the next offset, which
    /// is found here instead of by summing every name before it (the whole walk stays linear in the listing).
    /// </summary>
    private readonly record struct PartCursor(ChildList? Children, long Generation, int Count, long Position, int Index);

    private PartCursor _partCursor;

    /// <summary>
    /// A special name that is none of the special nodes (<c>@other</c>, <c>@releaseDomain/5</c>): ENOENT, hidden as
    /// C 4.22 hides a missing node from an unprivileged caller that may not read its parent, which for <c>@name</c>
    /// is the root and for <c>@name/...</c> the special node <c>@name</c>.
    /// </summary>
    private XsError MissingSpecial(Connection connection, TreeView view, string path)
    {
        if (connection.Privileged)
        {
            return XsError.ENOENT;
        }
        int slash = path.IndexOf('/', StringComparison.Ordinal);
        XsPermission[]? parent = slash < 0 ? view.Tree.Root.Perms : watches.ExactSpecialPerms(path[..slash]);
        return parent is null
            ? XsError.ENOENT
            : AccessPolicy.HideExistence(checks.CallerOf(connection), parent, XsAccess.Read, XsError.ENOENT);
    }

    private XsError GetListable(Connection connection, TreeView view, string path, out Node? node)
    {
        node = view.Tree.Get(path);
        if (node is null)
        {
            XsError recorded = view.Transaction?.TryRecord(path, null) ?? XsError.None;
            return recorded != XsError.None ? recorded : checks.HideExistence(connection, view, path, XsAccess.Read, XsError.ENOENT);
        }
        XsError listed = view.Transaction?.TryRecordListing(path, node) ?? XsError.None;
        if (listed != XsError.None)
        {
            return listed;
        }
        return checks.HasAccess(connection, node.Perms, XsAccess.Read) ? XsError.None : XsError.EACCES;
    }

    // "GET_PERMS <path>|": the owner entry first. Special paths have permissions too.
    public XsError GetPerms(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        if (checks.TryFindLive(connection, view, payload, XsAccess.Read, out Node? found, out XsError missing))
        {
            return found is null ? missing : ReplyPerms(request, connection, found.Perms);
        }
        if (!PayloadArgs.TryGetSingle(payload, out ReadOnlySpan<byte> raw))
        {
            return XsError.EINVAL;
        }
        XsError error = checks.ResolvePath(connection, raw, out string path, out XsPathKind kind);
        if (error != XsError.None)
        {
            return error;
        }
        XsPermission[] perms;
        if (kind == XsPathKind.Special)
        {
            // As C 4.22, only the special nodes themselves exist (not their per-domain watch forms).
            XsPermission[]? special = watches.ExactSpecialPerms(path);
            if (special is null)
            {
                return MissingSpecial(connection, view, path);
            }
            perms = special;
        }
        else
        {
            error = view.GetAndRecord(path, out Node? node);
            if (error != XsError.None)
            {
                return error;
            }
            if (node is null)
            {
                return checks.HideExistence(connection, view, path, XsAccess.Read, XsError.ENOENT);
            }
            perms = node.Perms;
        }
        return ReplyPerms(request, connection, perms);
    }

    private XsError ReplyPerms(RequestContext request, Connection connection, XsPermission[] perms)
    {
        if (!checks.HasAccess(connection, perms, XsAccess.Read))
        {
            return XsError.EACCES;
        }
        AppendPerms(request, perms);
        return XsError.None;
    }

    // "SET_PERMS <path>|<perm-as-string>|+": owner or privileged only; only the privileged may change the owner.
    public XsError SetPerms(RequestContext request, Connection connection, TreeView view, ReadOnlySpan<byte> payload)
    {
        XsError error = ResolvePathAndRest(connection, payload, out string path, out XsPathKind kind, out ReadOnlySpan<byte> rest);
        if (error != XsError.None)
        {
            return error;
        }
        XsPermission[]? perms = XsPermission.TryParseList(rest);
        if (perms is null)
        {
            return XsError.EINVAL;
        }
        if (!connection.Privileged && !domains.Allows(connection.Domid, Quota.NodePermissions, perms.Length))
        {
            return XsError.ENOSPC;
        }
        if (!OwnerMayExist(connection, perms[0].Domid))
        {
            return XsError.ENOENT;
        }
        if (kind == XsPathKind.Special)
        {
            return SetSpecialPerms(request, connection, view, path, perms);
        }
        error = view.GetAndRecord(path, out Node? node);
        if (error != XsError.None)
        {
            return error;
        }
        if (node is null)
        {
            return checks.HideExistence(connection, view, path, XsAccess.Write, XsError.ENOENT);
        }
        error = AccessPolicy.MaySetPerms(checks.CallerOf(connection), node.Perms[0].Domid, perms[0].Domid);
        if (error != XsError.None)
        {
            return error;
        }
        var effect = new SetPermsEffect(path, perms);
        if (view.Transaction is not null && !connection.MayHoldInTransactions(effect.HeldBytes))
        {
            return XsError.ENOSPC;
        }
        writer.SetPerms(view, path, perms);
        view.Transaction?.AddEffect(effect);
        return request.Ok();
    }

    /// <summary>
    /// The owner must be a domain that can exist (C 4.22 asks the hypervisor; no domain has a reserved id), or
    /// DOMID_ANY for a caller whose domain has the DOMID_ANY feature (C 4.22 ignores the entry otherwise).
    /// </summary>
    private bool OwnerMayExist(Connection connection, uint owner) =>
        owner < XsConstants.DomidFirstReserved
        || (owner == XsConstants.DomidAny && (domains.FeaturesOf(connection.Domid) & XsServerFeatures.DomidAny) != 0);

    private static void AppendPerms(RequestContext request, XsPermission[] perms)
    {
        foreach (XsPermission perm in perms)
        {
            request.Reply.AppendByte((byte)perm.Letter);
            request.Reply.AppendNumber(perm.Domid);
            request.Reply.AppendByte(0);
        }
    }

    private XsError SetSpecialPerms(RequestContext request, Connection connection, TreeView view, string path, XsPermission[] perms)
    {
        XsPermission[]? current = watches.ExactSpecialPerms(path);
        if (current is null)
        {
            return MissingSpecial(connection, view, path);
        }
        if (!connection.Privileged && !AccessPolicy.IsOwnerOrTarget(checks.CallerOf(connection), current[0].Domid))
        {
            return XsError.EACCES;
        }
        watches.TrySetSpecialPerms(path, perms);
        journal.SpecialPermsChanged(path, perms);
        return request.Ok();
    }

    /// <summary>"path, NUL, then the rest" (WRITE, SET_PERMS): the resolved path and what follows its NUL.</summary>
    private XsError ResolvePathAndRest(Connection connection, ReadOnlySpan<byte> payload, out string path, out XsPathKind kind, out ReadOnlySpan<byte> rest)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul < 0)
        {
            path = "";
            kind = default;
            rest = default;
            return XsError.EINVAL;
        }
        rest = payload[(nul + 1)..];
        return checks.ResolvePath(connection, payload[..nul], out path, out kind);
    }
}
