using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Access;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Watches;

/// <summary>
/// Registered watches and the watch matcher: the index by path, the permissions of the special <c>@</c> paths,
/// the changes waiting to fire, and firing them in C's order with C's payloads.
/// </summary>
internal sealed class WatchTable(DomainTable domains, IEngineOutput output) : INodeChangeSink
{
    /// <summary>Watches by canonical path: firing looks up the changed path and each of its ancestors.</summary>
    private readonly Dictionary<string, List<Watch>> _watchesByPath = new(StringComparer.Ordinal);

    private readonly Dictionary<string, XsPermission[]> _specialPerms = new(StringComparer.Ordinal)
    {
        [XsPath.IntroduceDomain] = [new(XsAccess.None, 0)],
        [XsPath.ReleaseDomain] = [new(XsAccess.None, 0)],
    };

    /// <summary>Changes of the current request (or domain release), fired when it is done.</summary>
    private readonly List<PendingEvent> _pending = [];

    /// <summary>Reused by <see cref="Fire"/>: the watches one change fires, before ordering.</summary>
    private readonly List<Watch> _firing = [];

    private long _sequence;

    /// <summary>Number of registered watches, over all connections.</summary>
    public int Count { get; private set; }

    /// <summary>The special paths and their permissions, for a snapshot.</summary>
    public IEnumerable<KeyValuePair<string, XsPermission[]>> SpecialPerms => _specialPerms;

    /// <summary>Registers a watch (the caller has checked the quota) and charges it to the owner's domain.</summary>
    public Watch Add(Connection connection, string path, string token, bool relative, int depth)
    {
        var watch = new Watch(connection, path, token, relative, depth, ++_sequence);
        connection.Watches.Add(watch);
        if (!_watchesByPath.TryGetValue(path, out List<Watch>? list))
        {
            list = [];
            _watchesByPath.Add(path, list);
        }
        list.Add(watch);
        domains.Charge(connection.Domid, Accounted.Watches, 1);
        Count++;
        return watch;
    }

    public void Remove(Watch watch)
    {
        Unindex(watch);
        watch.Owner.Watches.Remove(watch);
    }

    /// <summary>RESET_WATCHES, connection close and domain release: every watch of the connection goes.</summary>
    public void RemoveAll(Connection connection)
    {
        foreach (Watch watch in connection.Watches)
        {
            Unindex(watch);
        }
        connection.Watches.Clear();
    }

    private void Unindex(Watch watch)
    {
        if (_watchesByPath.TryGetValue(watch.Path, out List<Watch>? list))
        {
            list.Remove(watch);
            if (list.Count == 0)
            {
                _watchesByPath.Remove(watch.Path);
            }
        }
        domains.Charge(watch.Owner.Domid, Accounted.Watches, -1);
        Count--;
    }

    /// <summary>
    /// Queues a live change to fire once the request is done. The permissions are taken now: a removed node is
    /// judged by its own, a SET_PERMS by old and new ones, and every change by its parent's (the root is its own
    /// parent, as C's get_parent gives).
    /// </summary>
    public void OnChange(in NodeChange change)
    {
        if (change.Reach == WatchReach.None)
        {
            if (_committing && change.Kind == ChangeKind.Created)
            {
                // A node created on the way to another fires nothing itself, but a commit must still know it was
                // created before any change of its own was queued (see CoalesceCommitFrom).
                _commitSilentlyCreated.TryAdd(change.Path, _pending.Count);
            }
            return;
        }
        XsPermission[] parentPerms = (change.Parent ?? change.Node).Perms;
        _pending.Add(new PendingEvent(change.Path, change.Node.Perms, parentPerms, change.OldPerms, change.Reach == WatchReach.Exact, change.Kind));
    }

    /// <summary>A change to fire once the current request is done.</summary>
    public void Queue(in PendingEvent pending) => _pending.Add(pending);

    /// <summary>Where the next queued change goes; a commit coalesces what it queued from here.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>The path of the change queued at <paramref name="index"/> (see <see cref="PendingCount"/>).</summary>
    public string PendingPath(int index) => _pending[index].Path;

    /// <summary>
    /// Starts a commit's replay: from here to <see cref="CoalesceCommitFrom"/>, the nodes created on the way to
    /// another are remembered, so that one the commit then removes fires nothing.
    /// </summary>
    public void BeginCommit()
    {
        _committing = true;
        _commitSilentlyCreated.Clear();
    }

    /// <summary>
    /// A commit's events, as C sends them: one per node, the last change with the final permissions; none for a node
    /// the commit created (itself or on the way to another) and removed again: it existed neither before nor after,
    /// and C's watch_permitted finds neither permissions nor a node to judge by; ordered by
    /// <paramref name="orderKeys"/> (one per change queued from <paramref name="first"/>, the key of a node's last
    /// change counting), changes of equal key in the order they were made.
    /// </summary>
    public void CoalesceCommitFrom(int first, IReadOnlyList<int> orderKeys)
    {
        _committing = false;
        Dictionary<string, int> last = _commitLast;
        HashSet<string> createdFirst = _commitCreated;
        List<(int Key, int Index)> kept = _commitKept;
        last.Clear();
        createdFirst.Clear();
        kept.Clear();
        for (int i = first; i < _pending.Count; i++)
        {
            string path = _pending[i].Path;
            if (!last.ContainsKey(path) && (_pending[i].Kind == ChangeKind.Created
                || (_commitSilentlyCreated.TryGetValue(path, out int createdBefore) && createdBefore <= i)))
            {
                createdFirst.Add(path);
            }
            last[path] = i;
        }
        foreach ((string path, int index) in last)
        {
            if (!(createdFirst.Contains(path) && _pending[index].Kind == ChangeKind.Removed))
            {
                kept.Add((orderKeys[index - first], index));
            }
        }
        kept.Sort();
        // The kept events go after the range, then the range is cut: no copy of them in between.
        foreach ((int _, int index) in kept)
        {
            _pending.Add(_pending[index]);
        }
        _pending.RemoveRange(first, _pending.Count - first - kept.Count);
    }

    // Reused by every commit (the engine runs on one thread).
    private readonly Dictionary<string, int> _commitLast = new(StringComparer.Ordinal);
    private readonly HashSet<string> _commitCreated = new(StringComparer.Ordinal);
    private readonly List<(int Key, int Index)> _commitKept = [];
    private readonly Dictionary<string, int> _commitSilentlyCreated = new(StringComparer.Ordinal);
    private bool _committing;

    /// <summary>Forgets queued changes without firing them (changes made before anyone could watch).</summary>
    public void DiscardPending() => _pending.Clear();

    public void FirePending()
    {
        if (_pending.Count == 0)
        {
            // After every request, nearly always with nothing to fire: no enumerator, no clearing.
            return;
        }
        foreach (PendingEvent pending in _pending)
        {
            Fire(pending);
        }
        _pending.Clear();
    }

    private void Fire(in PendingEvent pending)
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
                        && AccessPolicy.MayReceive(domains.CallerOf(watch.Owner), pending.Perms, pending.OldPerms, pending.ParentPerms))
                    {
                        _firing.Add(watch);
                    }
                }
            }
            if (pending.ExactOnly || candidate.Length <= 1)
            {
                break;
            }
            int slash = XsPath.LastSlash(candidate);
            candidate = slash == 0 ? "/" : candidate[..slash];
        }
        if (_firing.Count > 1)
        {
            // C walks each connection's watches in registration order; a connection sees its events in that order.
            _firing.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        }
        foreach (Watch watch in _firing)
        {
            Send(watch, XsPath.ToWatcherForm(pending.Path, watch.Relative, watch.Owner.Domid));
        }
    }

    /// <summary>
    /// Fires <c>@introduceDomain</c> or <c>@releaseDomain</c> for a domain: a watch on the plain name gets the plain
    /// form, or the per-domid form when it has a depth of 1 or more, and nothing with a depth of 0 (C 4.22); a watch
    /// on the per-domid name gets that.
    /// </summary>
    public void FireSpecial(string special, uint domid)
    {
        string perDomain = special + "/" + domid.ToString(CultureInfo.InvariantCulture);
        XsPermission[] perms = _specialPerms[special];
        foreach (string candidate in new[] { special, perDomain })
        {
            if (!_watchesByPath.TryGetValue(candidate, out List<Watch>? watches))
            {
                continue;
            }
            foreach (Watch watch in watches.ToArray())
            {
                if (!watch.Owner.Privileged && !AccessPolicy.HasAccess(domains.CallerOf(watch.Owner), perms, XsAccess.Read))
                {
                    continue;
                }
                if (candidate == special && watch.Depth == 0)
                {
                    // The change is to the per-domain node one level below: beyond a depth of 0, as C 4.22 counts.
                    continue;
                }
                bool detailed = candidate == perDomain || watch.Depth > 0;
                Send(watch, detailed ? perDomain : special);
            }
        }
    }

    private void Send(Watch watch, string reportedPath)
    {
        byte[]? payload = EventPayload(reportedPath, watch.Token);
        if (payload is not null)
        {
            output.Send(watch.Owner.Id, XsMessageType.WatchEvent, 0, 0, payload);
        }
    }

    /// <summary><c>path\0token\0</c>, or null when it would exceed the payload limit (dropped, as after XSA-324).</summary>
    public static byte[]? EventPayload(string path, string token)
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

    /// <summary>The permissions of a special path or of the special path a per-domain form is under.</summary>
    public bool TryGetSpecialPerms(string path, out XsPermission[] perms)
    {
        int slash = path.IndexOf('/');
        string special = slash < 0 ? path : path[..slash];
        return _specialPerms.TryGetValue(special, out perms!);
    }

    /// <summary>The permissions of exactly this special path (not a per-domain form).</summary>
    public XsPermission[]? ExactSpecialPerms(string path) => _specialPerms.GetValueOrDefault(path);

    /// <summary>Sets a special path's permissions; false when the path is not a special path.</summary>
    public bool TrySetSpecialPerms(string path, XsPermission[] perms)
    {
        if (!_specialPerms.ContainsKey(path))
        {
            return false;
        }
        _specialPerms[path] = perms;
        return true;
    }

    /// <summary>Removes ACL entries naming a released domain from the special paths; returns the paths changed.</summary>
    public string[] ScrubSpecialPerms(uint domid)
    {
        string[] specials = [.. _specialPerms.Keys];
        foreach (string special in specials)
        {
            XsPermission[] perms = _specialPerms[special];
            _specialPerms[special] = [perms[0], .. perms.AsSpan(1).ToArray().Where(p => p.Domid != domid)];
        }
        return specials;
    }
}
