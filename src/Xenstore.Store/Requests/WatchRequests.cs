using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Persistence;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Requests;

/// <summary>WATCH and UNWATCH: argument parsing, the watch quota and the initial event.</summary>
internal sealed class WatchRequests(RequestChecks checks, DomainTable domains, WatchTable watches, JournalSink journal)
{
    // "WATCH <wpath>|<token>|[<depth>|]": replies OK, then fires once at once so the watcher can read state.
    public XsError Watch(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        int count = PayloadArgs.Count(payload);
        Span<Range> args = stackalloc Range[3];
        bool hasDepthArgument = count == 3 && WatchDepthEnabled(connection);
        if (!PayloadArgs.TrySplitExact(payload, args, hasDepthArgument ? 3 : 2))
        {
            return XsError.EINVAL;
        }
        ReadOnlySpan<byte> rawPath = payload[args[0]];
        XsError error = checks.ResolvePath(connection, rawPath, out string path, out XsPathKind kind);
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
            && !domains.Allows(connection.Domid, Quota.Watches, domains.Usage(connection.Domid, Accounted.Watches) + 1))
        {
            return XsError.ENOSPC;
        }
        journal.WatchAdded(watches.Add(connection, path, token, kind == XsPathKind.Relative, depth));
        byte[]? initial = WatchTable.EventPayload(Encoding.Latin1.GetString(rawPath), token);
        if (initial is not null)
        {
            request.AfterReply.Add((connection.Id, initial));
        }
        return request.Ok();
    }

    private bool WatchDepthEnabled(Connection connection) =>
        connection.Privileged
        || (domains.FeaturesOf(connection.Domid) & XsServerFeatures.WatchDepth) != 0;

    // "UNWATCH <wpath>|<token>|": the exact pair registered.
    public XsError Unwatch(RequestContext request, Connection connection, ReadOnlySpan<byte> payload)
    {
        Span<Range> args = stackalloc Range[2];
        if (!PayloadArgs.TrySplitExact(payload, args, 2))
        {
            return XsError.EINVAL;
        }
        XsError error = checks.ResolvePath(connection, payload[args[0]], out string path, out _);
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
        watches.Remove(watch);
        journal.WatchRemoved(watch);
        return request.Ok();
    }
}
