using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Domains;
using Xenstore.Store.Requests;

namespace Xenstore.Store;

public sealed partial class XenstoreEngine
{
    /// <summary>Watches by canonical path: firing looks up the changed path and each of its ancestors.</summary>
    private readonly Dictionary<string, List<Watch>> _watchesByPath = new(StringComparer.Ordinal);

    private readonly Dictionary<string, XsPermission[]> _specialPerms = new(StringComparer.Ordinal)
    {
        [XsPath.IntroduceDomain] = [new(XsAccess.None, 0)],
        [XsPath.ReleaseDomain] = [new(XsAccess.None, 0)],
    };

    private long _watchSequence;

    /// <summary>Number of registered watches, over all connections.</summary>
    public int WatchCount { get; private set; }

    private void QueueEvent(string path, XsPermission[] perms, XsPermission[]? parentPerms, XsPermission[]? oldPerms = null, bool exactOnly = false) =>
        _pendingEvents.Add(new PendingEvent(path, perms, parentPerms, oldPerms, exactOnly));

    private void FirePendingEvents()
    {
        foreach (PendingEvent pending in _pendingEvents)
        {
            FireNodeEvent(pending);
        }
        _pendingEvents.Clear();
    }

    /// <summary>Reused by <see cref="FireNodeEvent"/>: the watches one change fires, before ordering.</summary>
    private readonly List<Watch> _firing = [];

    private void FireNodeEvent(PendingEvent pending)
    {
        int eventDepth = XsPath.Depth(pending.Path);
        var lookup = _watchesByPath.GetAlternateLookup<ReadOnlySpan<char>>();
        ReadOnlySpan<char> candidate = pending.Path;
        _firing.Clear();
        while (true)
        {
            if (lookup.TryGetValue(candidate, out List<Watch>? watches))
            {
                bool exact = candidate.Length == pending.Path.Length;
                foreach (Watch watch in watches)
                {
                    if ((exact || !pending.ExactOnly)
                        && (watch.Depth < 0 || eventDepth - XsPath.Depth(watch.Path) <= watch.Depth)
                        && AccessPolicy.MayReceive(CallerOf(watch.Owner), pending.Perms, pending.OldPerms, pending.ParentPerms))
                    {
                        _firing.Add(watch);
                    }
                }
            }
            if (pending.ExactOnly || candidate.Length <= 1)
            {
                break;
            }
            int slash = candidate.LastIndexOf('/');
            candidate = slash == 0 ? "/" : candidate[..slash];
        }
        if (_firing.Count > 1)
        {
            // C walks each connection's watches in registration order; a connection sees its events in that order.
            _firing.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        }
        foreach (Watch watch in _firing)
        {
            SendEvent(watch, XsPath.ToWatcherForm(pending.Path, watch.Relative, watch.Owner.Domid));
        }
    }

    private void SendEvent(Watch watch, string reportedPath)
    {
        byte[]? payload = EventPayload(reportedPath, watch.Token);
        if (payload is not null)
        {
            _output.Send(watch.Owner.Id, XsMessageType.WatchEvent, 0, 0, payload);
        }
    }

    /// <summary><c>path\0token\0</c>, or null when it would exceed the payload limit (dropped, as after XSA-324).</summary>
    private static byte[]? EventPayload(string path, string token)
    {
        int length = path.Length + token.Length + 2;
        if (length > XsConstants.PayloadMax)
        {
            return null;
        }
        var payload = new byte[length];
        Encoding.Latin1.GetBytes(path, payload);
        Encoding.Latin1.GetBytes(token, payload.AsSpan(path.Length + 1));
        return payload;
    }

    /// <summary>Fires <c>@introduceDomain</c> or <c>@releaseDomain</c> for a domain, in the plain and per-domid forms.</summary>
    private void FireSpecial(string special, uint domid)
    {
        string perDomain = special + "/" + domid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        XsPermission[] perms = _specialPerms[special];
        foreach (string candidate in new[] { special, perDomain })
        {
            if (!_watchesByPath.TryGetValue(candidate, out List<Watch>? watches))
            {
                continue;
            }
            foreach (Watch watch in watches.ToArray())
            {
                if (!HasAccess(watch.Owner, perms, XsAccess.Read))
                {
                    continue;
                }
                bool detailed = candidate == perDomain || watch.Depth > 0;
                SendEvent(watch, detailed ? perDomain : special);
            }
        }
    }

    private bool TryGetSpecialPerms(string path, out XsPermission[] perms)
    {
        int slash = path.IndexOf('/');
        string special = slash < 0 ? path : path[..slash];
        return _specialPerms.TryGetValue(special, out perms!);
    }

    private XsError SetSpecialPerms(RequestContext request, Connection connection, string path, XsPermission[] perms)
    {
        if (!_specialPerms.TryGetValue(path, out XsPermission[]? current))
        {
            return XsError.EINVAL;
        }
        if (!connection.Privileged && !AccessPolicy.IsOwnerOrTarget(CallerOf(connection), current[0].Domid))
        {
            return XsError.EACCES;
        }
        _specialPerms[path] = perms;
        Journal?.NodeWritten(path, [], perms);
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
        foreach (Watch existing in connection.Watches)
        {
            if (existing.Path == path && existing.Token == token)
            {
                return XsError.EEXIST;
            }
        }
        if (!connection.Privileged
            && !_domains.Allows(connection.Domid, Quota.Watches, _domains.Usage(connection.Domid, Accounted.Watches) + 1))
        {
            return XsError.ENOSPC;
        }
        var watch = new Watch(connection, path, token, kind == XsPathKind.Relative, depth, ++_watchSequence);
        connection.Watches.Add(watch);
        if (!_watchesByPath.TryGetValue(path, out List<Watch>? list))
        {
            list = [];
            _watchesByPath.Add(path, list);
        }
        list.Add(watch);
        _domains.Charge(connection.Domid, Accounted.Watches, 1);
        WatchCount++;
        byte[]? initial = EventPayload(Encoding.Latin1.GetString(rawPath), token);
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
        Watch? watch = connection.Watches.Find(w => w.Path == path && w.Token == token);
        if (watch is null)
        {
            return XsError.ENOENT;
        }
        RemoveWatch(watch);
        connection.Watches.Remove(watch);
        return request.Ok();
    }

    private void RemoveWatch(Watch watch)
    {
        if (_watchesByPath.TryGetValue(watch.Path, out List<Watch>? list))
        {
            list.Remove(watch);
            if (list.Count == 0)
            {
                _watchesByPath.Remove(watch.Path);
            }
        }
        _domains.Charge(watch.Owner.Domid, Accounted.Watches, -1);
        WatchCount--;
    }

    /// <summary>RESET_WATCHES, connection close and domain release: every watch and transaction goes.</summary>
    private void DropWatchesAndTransactions(Connection connection)
    {
        foreach (Watch watch in connection.Watches)
        {
            RemoveWatch(watch);
        }
        connection.Watches.Clear();
        foreach (Transaction tx in connection.Transactions.Values.ToArray())
        {
            EndTransaction(tx);
        }
    }
}
