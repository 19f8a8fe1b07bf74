using System.Globalization;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Store.Tests.Model;

/// <summary>A message the model expects the engine to send.</summary>
public readonly record struct ModelMessage(int Conn, XsMessageType Type, uint ReqId, uint TxId, byte[] Payload)
{
    public override string ToString() =>
        $"c{Conn} {Type} req {ReqId} tx {TxId}: {Encoding.Latin1.GetString(Payload).Replace("\0", "|", StringComparison.Ordinal)}";
}

/// <summary>
/// A deliberately simple executable specification of the store: a dictionary of nodes, transactions as whole
/// copies of it with the set of paths they looked at, and watches matched by walking every registered watch.
/// </summary>
public sealed class ReferenceModel
{
    /// <summary>Two privileged dom0 connections and one unprivileged domain 1.</summary>
    public static readonly (uint Domid, bool Privileged)[] Connections = [(0, true), (0, true), (1, false)];

    /// <summary>The node quota of unprivileged domains, small enough to be hit.</summary>
    public const int NodeQuota = 6;

    private readonly ModelTree _live = new();
    private readonly List<ModelWatch> _watches = [];
    private readonly Dictionary<(int Conn, uint Id), ModelTransaction> _transactions = [];
    private readonly uint[] _lastTxId = new uint[Connections.Length];
    private readonly List<ModelMessage> _out = [];
    private long _clock;
    private long _watchSeq;

    public ReferenceModel()
    {
        _live.Nodes["/"] = new ModelNode { Perms = [new(XsAccess.None, 0)] };
        Create(_live, "/tool/xenstored", [], 0, creatorPrivileged: true);
    }

    public int OpenTransactions => _transactions.Count;

    public int Watches => _watches.Count;

    /// <summary>Executes one request; returns every message it causes, in order.</summary>
    public List<ModelMessage> Apply(ModelOp op, uint reqId)
    {
        _out.Clear();
        var after = new List<ModelMessage>();
        byte[]? payload;
        string? error;
        if (op.Tx != 0 && op is not (WatchOp or UnwatchOp or StartOp) && !_transactions.ContainsKey((op.Conn, op.Tx)))
        {
            (payload, error) = (null, "ENOENT");
        }
        else
        {
            ModelTransaction? tx = op.Tx == 0 ? null : _transactions.GetValueOrDefault((op.Conn, op.Tx));
            var call = new Call(this, op.Conn, tx);
            (payload, error) = op switch
            {
                ReadOp r => call.Read(r.Path),
                WriteOp w => call.Write(w.Path, Encoding.Latin1.GetBytes(w.Value)),
                MkdirOp m => call.Mkdir(m.Path),
                RmOp r => call.Rm(r.Path),
                DirectoryOp d => call.Directory(d.Path),
                GetPermsOp g => call.GetPerms(g.Path),
                SetPermsOp s => call.SetPerms(s.Path, s.Perms.Select(Parse).ToArray()),
                StartOp => Start(op.Conn),
                EndOp e => End(op.Conn, op.Tx, e.Commit),
                WatchOp w => Watch(w, after),
                UnwatchOp u => Unwatch(u),
                ResetWatchesOp => ResetWatches(op.Conn),
                _ => throw new InvalidOperationException(op.ToString()),
            };
        }
        _out.Add(error is null
            ? new ModelMessage(op.Conn, op.Type, reqId, op.Tx, payload!)
            : new ModelMessage(op.Conn, XsMessageType.Error, reqId, op.Tx, Encoding.ASCII.GetBytes(error + "\0")));
        _out.AddRange(after);
        return [.. _out];
    }

    /// <summary>What a privileged reader sees at a path: value, permissions and children, or null.</summary>
    public (byte[] Value, string Perms, string Children)? Inspect(string path)
    {
        ModelNode? node = _live.Get(path);
        return node is null
            ? null
            : (node.Value, string.Concat(node.Perms.Select(p => p + "\0")), string.Concat(node.Children.Select(c => c + "\0")));
    }

    private static XsPermission Parse(string text)
    {
        Assert.True(XsPermission.TryParse(Encoding.ASCII.GetBytes(text), out XsPermission p));
        return p;
    }

    private static readonly byte[] s_ok = "OK\0"u8.ToArray();

    private static (byte[]?, string?) Ok() => (s_ok, null);

    private static (byte[]?, string?) Fail(string errno) => (null, errno);

    // ---- permissions ----

    private static XsAccess Access(int conn, XsPermission[] perms)
    {
        (uint domid, bool privileged) = Connections[conn];
        if (privileged || perms[0].Domid == domid)
        {
            return XsAccess.Both;
        }
        foreach (XsPermission p in perms.Skip(1))
        {
            if (p.Domid == domid)
            {
                return p.Access;
            }
        }
        return perms[0].Access;
    }

    private static bool Has(int conn, XsPermission[] perms, XsAccess right) => (Access(conn, perms) & right) == right;

    // ---- changes (on the live tree or a transaction's tree) ----

    private void Create(ModelTree tree, string path, byte[] value, uint creator, bool creatorPrivileged, List<ModelEvent>? events = null)
    {
        var missing = new Stack<string>();
        for (string p = path; tree.Get(p) is null; p = XsPath.Parent(p))
        {
            missing.Push(p);
        }
        while (missing.Count > 0)
        {
            string p = missing.Pop();
            ModelNode parent = tree.Get(XsPath.Parent(p))!;
            XsPermission[] perms = (XsPermission[])parent.Perms.Clone();
            if (!creatorPrivileged)
            {
                perms[0] = perms[0] with { Domid = creator };
            }
            long now = ++_clock;
            tree.Nodes[p] = new ModelNode { Value = p == path ? value : [], Perms = perms, Version = now, ChildVersion = now };
            parent.Children.Add(XsPath.LastComponent(p));
            parent.ChildVersion = now;
        }
        events?.Add(new ModelEvent(path, tree.Get(path)!.Perms, tree.Get(XsPath.Parent(path))!.Perms, null, false));
    }

    private void SetValue(ModelTree tree, string path, byte[] value, List<ModelEvent>? events)
    {
        ModelNode node = tree.Get(path)!;
        node.Value = value;
        node.Version = ++_clock;
        events?.Add(new ModelEvent(path, node.Perms, tree.Get(XsPath.Parent(path))!.Perms, null, false));
    }

    private void SetPerms(ModelTree tree, string path, XsPermission[] perms, List<ModelEvent>? events)
    {
        ModelNode node = tree.Get(path)!;
        XsPermission[] old = node.Perms;
        node.Perms = perms;
        node.Version = ++_clock;
        events?.Add(new ModelEvent(path, perms, tree.Get(XsPath.Parent(path))!.Perms, old, false));
    }

    /// <summary>C's recursive delete: each child's subtree, then the child (exact watches only); the node last.</summary>
    private void Remove(ModelTree tree, string path, List<ModelEvent>? events)
    {
        void RemoveChildren(string p, ModelNode node)
        {
            foreach (string name in node.Children)
            {
                string childPath = ModelTree.Child(p, name);
                ModelNode child = tree.Get(childPath)!;
                RemoveChildren(childPath, child);
                events?.Add(new ModelEvent(childPath, child.Perms, node.Perms, null, true));
                tree.Nodes.Remove(childPath);
            }
        }

        ModelNode node = tree.Get(path)!;
        ModelNode parent = tree.Get(XsPath.Parent(path))!;
        RemoveChildren(path, node);
        tree.Nodes.Remove(path);
        parent.Children.Remove(XsPath.LastComponent(path));
        parent.ChildVersion = ++_clock;
        events?.Add(new ModelEvent(path, node.Perms, parent.Perms, null, false));
    }

    // ---- watches ----

    private void Fire(List<ModelEvent> events)
    {
        foreach (ModelEvent e in events)
        {
            IEnumerable<ModelWatch> matching = _watches
                .Where(w => e.ExactOnly
                    ? w.Path == e.Path
                    : XsPath.IsSelfOrAncestor(w.Path, e.Path)
                        && (w.Depth is not int d || XsPath.Depth(e.Path) - XsPath.Depth(w.Path) <= d))
                .Where(w => Has(w.Conn, e.Perms, XsAccess.Read)
                    || (e.OldPerms is not null && Has(w.Conn, e.OldPerms, XsAccess.Read))
                    || Has(w.Conn, e.ParentPerms, XsAccess.Read))
                .OrderBy(w => w.Seq); // C walks each connection's watches in registration order
            foreach (ModelWatch w in matching)
            {
                _out.Add(EventMessage(w.Conn, e.Path, w.Token));
            }
        }
    }

    private static ModelMessage EventMessage(int conn, string path, string token) =>
        new(conn, XsMessageType.WatchEvent, 0, 0, Encoding.Latin1.GetBytes(path + "\0" + token + "\0"));

    private (byte[]?, string?) Watch(WatchOp op, List<ModelMessage> after)
    {
        if (_watches.Any(w => w.Conn == op.Conn && w.Path == op.Path && w.Token == op.Token))
        {
            return Fail("EEXIST");
        }
        _watches.Add(new ModelWatch(op.Conn, op.Path, op.Token, op.Depth, ++_watchSeq));
        after.Add(EventMessage(op.Conn, op.Path, op.Token));
        return Ok();
    }

    private (byte[]?, string?) Unwatch(UnwatchOp op)
    {
        int removed = _watches.RemoveAll(w => w.Conn == op.Conn && w.Path == op.Path && w.Token == op.Token);
        return removed == 0 ? Fail("ENOENT") : Ok();
    }

    private (byte[]?, string?) ResetWatches(int conn)
    {
        _watches.RemoveAll(w => w.Conn == conn);
        foreach ((int, uint) key in _transactions.Keys.Where(k => k.Conn == conn).ToList())
        {
            _transactions.Remove(key);
        }
        return Ok();
    }

    /// <summary>Nodes a domain owns in a tree; the root is charged to nobody.</summary>
    private static int Owned(ModelTree tree, uint domid) =>
        tree.Nodes.Count(kv => kv.Key != "/" && kv.Value.Perms[0].Domid == domid);

    // ---- transactions ----

    private (byte[]?, string?) Start(int conn)
    {
        (_, bool privileged) = Connections[conn];
        if (!privileged && _transactions.Keys.Count(k => k.Conn == conn) >= 10)
        {
            return Fail("ENOSPC");
        }
        uint id = ++_lastTxId[conn];
        _transactions[(conn, id)] = new ModelTransaction(_live.Clone(), _live.Clone());
        return (Encoding.ASCII.GetBytes(id.ToString(CultureInfo.InvariantCulture) + "\0"), null);
    }

    private (byte[]?, string?) End(int conn, uint id, bool commit)
    {
        if (!_transactions.Remove((conn, id), out ModelTransaction? tx))
        {
            return Fail("ENOENT");
        }
        if (!commit)
        {
            return Ok();
        }
        foreach ((string path, Seen seen) in tx.Accessed)
        {
            ModelNode? now = _live.Get(path);
            bool changed = seen.Existed
                ? now is null || now.Version != seen.Version || (seen.Listed && now.ChildVersion != seen.ChildVersion)
                : now is not null;
            if (changed)
            {
                return Fail("EAGAIN");
            }
        }
        (uint domid, bool privileged) = Connections[conn];
        int added = Owned(tx.Tree, domid) - Owned(tx.Snapshot, domid);
        if (!privileged && added > 0 && Owned(_live, domid) + added > NodeQuota)
        {
            return Fail("ENOSPC");
        }
        var events = new List<ModelEvent>();
        var causes = new List<string>();
        ModelTree before = _live.Clone();
        foreach (Effect effect in tx.Effects)
        {
            bool exists = _live.Get(effect.Path) is not null;
            switch (effect.Kind)
            {
                case EffectKind.Write when exists:
                    SetValue(_live, effect.Path, effect.Value!, events);
                    break;
                case EffectKind.Write:
                    Create(_live, effect.Path, effect.Value!, domid, privileged, events);
                    break;
                case EffectKind.Mkdir when !exists:
                    Create(_live, effect.Path, [], domid, privileged, events);
                    break;
                case EffectKind.Rm when exists:
                    Remove(_live, effect.Path, events);
                    break;
                case EffectKind.SetPerms when exists:
                    SetPerms(_live, effect.Path, effect.Perms!, events);
                    break;
            }
            causes.AddRange(Enumerable.Repeat(effect.Path, events.Count - causes.Count));
        }
        // As C: one event per node that changed (the last; none for a node that existed neither before nor after),
        // ordered by when the transaction first looked at the node, or else at the node whose change caused it.
        var lastIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < events.Count; i++)
        {
            lastIndex[events[i].Path] = i;
        }
        int Order(string path) => tx.AccessOrder.IndexOf(path) is int at and >= 0 ? at : int.MaxValue;
        Fire([.. lastIndex
            .Where(last => before.Get(last.Key) is not null || _live.Get(last.Key) is not null)
            .OrderBy(last => tx.AccessOrder.Contains(last.Key) ? Order(last.Key) : Order(causes[last.Value]))
            .ThenBy(last => last.Value)
            .Select(last => events[last.Value])]);
        return Ok();
    }

    /// <summary>One request's execution context: the caller and the tree it works on.</summary>
    private sealed class Call(ReferenceModel model, int conn, ModelTransaction? tx)
    {
        private readonly ModelTree _tree = tx?.Tree ?? model._live;
        private readonly List<ModelEvent>? _events = tx is null ? [] : null;

        private bool Privileged => Connections[conn].Privileged;

        /// <summary>A transaction remembers what each path it looks at was like in its snapshot.</summary>
        private void Look(string path, bool listed = false)
        {
            if (tx is null)
            {
                return;
            }
            if (!tx.Accessed.TryGetValue(path, out Seen seen))
            {
                tx.AccessOrder.Add(path);
                ModelNode? n = tx.Snapshot.Get(path);
                seen = n is null ? new Seen(false, 0, 0, false) : new Seen(true, n.Version, n.ChildVersion, false);
            }
            tx.Accessed[path] = seen with { Listed = seen.Listed || listed };
        }

        private (byte[]?, string?) Done((byte[]?, string?) result)
        {
            if (_events is not null)
            {
                model.Fire(_events);
            }
            return result;
        }

        /// <summary>Existence hiding: the error stands only if the nearest existing ancestor grants the right.</summary>
        private (byte[]?, string?) Hide(string path, XsAccess right, string errno)
        {
            if (Privileged)
            {
                return Fail(errno);
            }
            string ancestor = _tree.NearestExisting(path);
            Look(ancestor);
            return Fail(Has(conn, _tree.Get(ancestor)!.Perms, right) ? errno : "EACCES");
        }

        public (byte[]?, string?) Read(string path)
        {
            ModelNode? node = _tree.Get(path);
            Look(path);
            if (node is null)
            {
                return Hide(path, XsAccess.Read, "ENOENT");
            }
            return Has(conn, node.Perms, XsAccess.Read) ? (node.Value, null) : Fail("EACCES");
        }

        public (byte[]?, string?) GetPerms(string path)
        {
            ModelNode? node = _tree.Get(path);
            Look(path);
            if (node is null)
            {
                return Hide(path, XsAccess.Read, "ENOENT");
            }
            return Has(conn, node.Perms, XsAccess.Read)
                ? (Encoding.ASCII.GetBytes(string.Concat(node.Perms.Select(p => p + "\0"))), null)
                : Fail("EACCES");
        }

        public (byte[]?, string?) Directory(string path)
        {
            ModelNode? node = _tree.Get(path);
            Look(path, listed: node is not null);
            if (node is null)
            {
                return Hide(path, XsAccess.Read, "ENOENT");
            }
            return Has(conn, node.Perms, XsAccess.Read)
                ? (Encoding.ASCII.GetBytes(string.Concat(node.Children.Select(c => c + "\0"))), null)
                : Fail("EACCES");
        }

        /// <summary>Creating needs write on the nearest existing ancestor; every new level is looked at.</summary>
        private string? CheckCreate(string path)
        {
            string ancestor = _tree.NearestExisting(path);
            Look(ancestor);
            if (!Has(conn, _tree.Get(ancestor)!.Perms, XsAccess.Write))
            {
                return "EACCES";
            }
            for (string p = path; p != ancestor; p = XsPath.Parent(p))
            {
                Look(p);
            }
            (uint domid, bool privileged) = Connections[conn];
            if (!privileged)
            {
                // What the domain owns now, plus what this transaction has added or removed so far.
                int owned = Owned(model._live, domid) + (tx is null ? 0 : Owned(tx.Tree, domid) - Owned(tx.Snapshot, domid));
                if (owned + XsPath.Depth(path) - XsPath.Depth(ancestor) > NodeQuota)
                {
                    return "ENOSPC";
                }
            }
            return null;
        }

        public (byte[]?, string?) Write(string path, byte[] value)
        {
            ModelNode? node = _tree.Get(path);
            Look(path);
            if (node is not null)
            {
                if (!Has(conn, node.Perms, XsAccess.Write))
                {
                    return Fail("EACCES");
                }
                model.SetValue(_tree, path, value, _events);
            }
            else
            {
                if (CheckCreate(path) is string error)
                {
                    return Fail(error);
                }
                (uint domid, bool privileged) = Connections[conn];
                model.Create(_tree, path, value, domid, privileged, _events);
            }
            tx?.Effects.Add(new Effect(EffectKind.Write, path, value, null));
            return Done(Ok());
        }

        public (byte[]?, string?) Mkdir(string path)
        {
            ModelNode? node = _tree.Get(path);
            Look(path);
            if (node is not null)
            {
                return Has(conn, node.Perms, XsAccess.Write) ? Ok() : Fail("EACCES");
            }
            if (CheckCreate(path) is string error)
            {
                return Fail(error);
            }
            (uint domid, bool privileged) = Connections[conn];
            model.Create(_tree, path, [], domid, privileged, _events);
            tx?.Effects.Add(new Effect(EffectKind.Mkdir, path, null, null));
            return Done(Ok());
        }

        public (byte[]?, string?) Rm(string path)
        {
            if (path == "/")
            {
                return Fail("EINVAL");
            }
            ModelNode? node = _tree.Get(path);
            Look(path);
            if (node is null)
            {
                string parentPath = XsPath.Parent(path);
                ModelNode? parent = _tree.Get(parentPath);
                Look(parentPath);
                if (parent is null)
                {
                    return Hide(path, XsAccess.Write, "ENOENT");
                }
                return Has(conn, parent.Perms, XsAccess.Write) ? Ok() : Fail("EACCES");
            }
            if (!Has(conn, node.Perms, XsAccess.Write))
            {
                return Fail("EACCES");
            }
            // C's RM walks the subtree, each node before its children and siblings in their list's order: that is
            // the order in which a transaction first accesses them (the dictionary's order is not).
            LookDescendants(path, node);
            model.Remove(_tree, path, _events);
            tx?.Effects.Add(new Effect(EffectKind.Rm, path, null, null));
            return Done(Ok());
        }

        private void LookDescendants(string path, ModelNode node)
        {
            foreach (string name in node.Children)
            {
                string childPath = ModelTree.Child(path, name);
                Look(childPath);
                LookDescendants(childPath, _tree.Get(childPath)!);
            }
        }

        public (byte[]?, string?) SetPerms(string path, XsPermission[] perms)
        {
            ModelNode? node = _tree.Get(path);
            Look(path);
            if (node is null)
            {
                return Hide(path, XsAccess.Write, "ENOENT");
            }
            if (!Privileged)
            {
                if (node.Perms[0].Domid != Connections[conn].Domid)
                {
                    return Fail("EACCES");
                }
                if (perms[0].Domid != node.Perms[0].Domid)
                {
                    return Fail("EPERM");
                }
            }
            model.SetPerms(_tree, path, perms, _events);
            tx?.Effects.Add(new Effect(EffectKind.SetPerms, path, null, perms));
            return Done(Ok());
        }
    }

    private sealed record ModelWatch(int Conn, string Path, string Token, int? Depth, long Seq);

    /// <summary>A change that may fire watches, judged by the permissions at the time of the change.</summary>
    private sealed record ModelEvent(string Path, XsPermission[] Perms, XsPermission[] ParentPerms, XsPermission[]? OldPerms, bool ExactOnly);

    private readonly record struct Seen(bool Existed, long Version, long ChildVersion, bool Listed);

    private enum EffectKind
    {
        Write,
        Mkdir,
        Rm,
        SetPerms,
    }

    private sealed record Effect(EffectKind Kind, string Path, byte[]? Value, XsPermission[]? Perms);

    private sealed class ModelTransaction(ModelTree snapshot, ModelTree tree)
    {
        public ModelTree Snapshot { get; } = snapshot;

        public ModelTree Tree { get; } = tree;

        public Dictionary<string, Seen> Accessed { get; } = new(StringComparer.Ordinal);

        /// <summary>The paths of <see cref="Accessed"/> in the order first looked at.</summary>
        public List<string> AccessOrder { get; } = [];

        public List<Effect> Effects { get; } = [];
    }
}
