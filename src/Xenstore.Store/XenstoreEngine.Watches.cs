using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Domains;
using Xenstore.Store.Requests;
using Xenstore.Store.Watches;

namespace Xenstore.Store;

public sealed partial class XenstoreEngine
{
    private XsError SetSpecialPerms(RequestContext request, Connection connection, string path, XsPermission[] perms)
    {
        XsPermission[]? current = _watches.ExactSpecialPerms(path);
        if (current is null)
        {
            return XsError.EINVAL;
        }
        if (!connection.Privileged && !AccessPolicy.IsOwnerOrTarget(CallerOf(connection), current[0].Domid))
        {
            return XsError.EACCES;
        }
        _watches.TrySetSpecialPerms(path, perms);
        _journal.SpecialPermsChanged(path, perms);
        return request.Ok();
    }

    // "WATCH <wpath>|<token>|[<depth>|]": replies OK, then fires once at once so the watcher can read state.
    private XsError DoWatch(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        int count = PayloadArgs.Count(payload);
        Span<Range> args = stackalloc Range[3];
        bool hasDepthArgument = count == 3 && WatchDepthEnabled(connection);
        if (!PayloadArgs.TrySplitExact(payload, args, hasDepthArgument ? 3 : 2))
        {
            return XsError.EINVAL;
        }
        ReadOnlySpan<byte> rawPath = payload[args[0]];
        XsError error = ResolvePath(connection, rawPath, out string path, out XsPathKind kind);
        if (error != XsError.None)
        {
            return error;
        }
        int depth = -1;
        if (hasDepthArgument)
        {
            if (!PayloadArgs.TryParseUInt32(payload[args[2]], out uint parsedDepth) || parsedDepth > int.MaxValue)
            {
                return XsError.EINVAL;
            }
            depth = (int)parsedDepth;
        }
        string token = Encoding.Latin1.GetString(payload[args[1]]);
        if (connection.FindWatch(path, token) is not null)
        {
            return XsError.EEXIST;
        }
        if (!connection.Privileged
            && !_domains.Allows(connection.Domid, Quota.Watches, _domains.Usage(connection.Domid, Accounted.Watches) + 1))
        {
            return XsError.ENOSPC;
        }
        _watches.Add(connection, path, token, kind == XsPathKind.Relative, depth);
        byte[]? initial = WatchTable.EventPayload(Encoding.Latin1.GetString(rawPath), token);
        if (initial is not null)
        {
            request.AfterReply.Add((connection.Id, initial));
        }
        return request.Ok();
    }

    private bool WatchDepthEnabled(Connection connection) =>
        connection.Privileged
        || (_domains.FeaturesOf(connection.Domid) & XsServerFeatures.WatchDepth) != 0;

    // "UNWATCH <wpath>|<token>|": the exact pair registered.
    private XsError DoUnwatch(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        Span<Range> args = stackalloc Range[2];
        if (!PayloadArgs.TrySplitExact(payload, args, 2))
        {
            return XsError.EINVAL;
        }
        XsError error = ResolvePath(connection, payload[args[0]], out string path, out _);
        if (error != XsError.None)
        {
            return error;
        }
        string token = Encoding.Latin1.GetString(payload[args[1]]);
        Watch? watch = connection.FindWatch(path, token);
        if (watch is null)
        {
            return XsError.ENOENT;
        }
        _watches.Remove(watch);
        return request.Ok();
    }

    /// <summary>RESET_WATCHES, connection close and domain release: every watch and transaction goes.</summary>
    private void DropWatchesAndTransactions(Connection connection)
    {
        _watches.RemoveAll(connection);
        _transactions.DropAll(connection);
    }
}
