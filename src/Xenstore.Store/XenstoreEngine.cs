using Xenstore.Protocol;
using Xenstore.Store.Accounting;
using Xenstore.Store.Domains;
using Xenstore.Store.Persistence;
using Xenstore.Store.Requests;
using Xenstore.Store.Transactions;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store;

/// <summary>
/// The Xenstore engine: tree, permissions, transactions, watches, quotas and domains. Pure and single-threaded:
/// the same ordered calls produce the same replies, events and state. Nothing here blocks, reads a clock or does
/// I/O; the server owns threads and transports and feeds requests in arrival order.
/// </summary>
public sealed class XenstoreEngine
{
    private readonly IEngineOutput _output;
    private readonly IEngineHost _host;
    private readonly Dictionary<int, Connection> _connections = [];

    // The connection of the last request: set only from _connections, and skipped once Forgotten.
    private Connection? _lastConnection;
    private readonly DomainTable _domains;
    private readonly RequestContext _request = new();
    private readonly WatchTable _watches;
    private readonly LiveTree _liveTree;
    private readonly NodeTree _live;
    private readonly TransactionManager _transactions;
    private readonly JournalSink _journal = new();
    private readonly RecoveredRings _recoveredRings = new();

    /// <summary>Observers of every live change, in this order: the tree's own bookkeeping, accounting, journal, watches.</summary>
    private readonly ChangeFeed _liveFeed;

    /// <summary>Recovery and start-up: the tree's bookkeeping and accounting only (no journal, no watch events).</summary>
    private readonly ChangeFeed _quietFeed;

    private readonly RequestChecks _checks;
    private readonly TreeWriter _writer;
    private readonly NodeRequests _nodes;
    private readonly WatchRequests _watchRequests;
    private readonly TransactionRequests _transactionRequests;
    private readonly QuotaRequests _quotaRequests;
    private readonly ControlRequests _controlRequests;
    private readonly DomainLifecycle _lifecycle;
    private readonly DomainRequests _domainRequests;

    /// <summary>
    /// Builds the parts in dependency order. Every live change goes through one feed whose order is fixed here;
    /// the request handlers get only the parts they use.
    /// </summary>
    public XenstoreEngine(EngineOptions options, IEngineOutput output, IEngineHost? host = null)
    {
        _output = output;
        _host = host ?? new NullHost();
        _domains = new DomainTable(options.Quotas, options.ServerFeatures);
        _watches = new WatchTable(_domains, output);
        _liveTree = new LiveTree();
        _live = _liveTree.Nodes;
        _transactions = new TransactionManager(_domains, _liveTree);
        _liveFeed = new ChangeFeed(_liveTree, _domains, _journal, _watches);
        _quietFeed = new ChangeFeed(_liveTree, _domains);
        _checks = new RequestChecks(_domains);
        _writer = new TreeWriter(_liveTree, _liveFeed);
        _nodes = new NodeRequests(_checks, _writer, _domains, _watches, _journal);
        _watchRequests = new WatchRequests(_checks, _domains, _watches, _journal);
        _transactionRequests = new TransactionRequests(_transactions, _writer, _watches, _journal);
        _quotaRequests = new QuotaRequests(_domains, _journal);
        _lifecycle = new DomainLifecycle(_connections, _liveTree, _liveFeed, _domains, _watches, _transactions, _journal, _recoveredRings, _host, options.PrivilegedDomid);
        _domainRequests = new DomainRequests(_domains, _lifecycle, _journal);
        _controlRequests = new ControlRequests(this, _host, _domains, _journal);
        Domains = new EngineDomains(_lifecycle, _domains);
        Persistence = new EnginePersistence(_liveTree, _domains, _watches, _journal, _connections, _recoveredRings, _quietFeed);
        LiveUpdate = new EngineLiveUpdate(_connections, _watches, _journal);
        Accounting = new EngineAccounting(_connections, _liveTree, _domains);
        CreateInitialNodes();
    }

    /// <summary>Nodes in the store now.</summary>
    public int NodeCount => _liveTree.NodeCount;

    /// <summary>Transactions open now, over every connection (the write rate limit applies only while there are some).</summary>
    public int OpenTransactionCount => _transactions.Count;

    /// <summary>The counters, for metrics.</summary>
    public EngineStatistics Statistics => new(
        _liveTree.NodeCount, _liveTree.Generation, _watches.Count, _transactions.Count,
        _transactions.Committed, _transactions.Aborted, _transactions.Conflicted);

    /// <summary>Domains: privileges, introduction, features and quotas, and what the hypervisor reports.</summary>
    public EngineDomains Domains { get; }

    /// <summary>The journal, snapshots and recovery.</summary>
    public EnginePersistence Persistence { get; }

    /// <summary>Who holds what: per domain and per connection, for the operator's view and the memory report.</summary>
    public EngineAccounting Accounting { get; }

    /// <summary>What a live update carries over: connections' watches.</summary>
    public EngineLiveUpdate LiveUpdate { get; }

    /// <summary>
    /// Registers a connection. Socket connections are dom0 and privileged. A ring served again after a restart
    /// (<see cref="ConnectionKind.ResumedRing"/>) takes over the watches and transactions recovered for its domain.
    /// </summary>
    public void OpenConnection(int connectionId, uint domid, bool privileged, ConnectionKind kind = ConnectionKind.Transient)
    {
        bool isPrivileged = privileged || Domains.IsPrivileged(domid);
        var connection = new Connection(connectionId, domid, isPrivileged, kind);
        _connections.Add(connectionId, connection);
        if (connection.IsRing && _recoveredRings.TryTake(domid, out RingConnectionState recovered))
        {
            if (kind == ConnectionKind.ResumedRing)
            {
                TakeOver(connection, recovered);
            }
            else
            {
                // A fresh ring (its guest asked for a reconnection) starts without them.
                _journal.RingCleared(domid);
            }
        }
    }

    /// <summary>
    /// The recovered watches are registered again (no quota check: the guest had them), each fires once unless
    /// turned off (changes may have been missed meanwhile), and the open transactions are lost: their commit
    /// answers EAGAIN. The journal holds all of this already.
    /// </summary>
    private void TakeOver(Connection connection, RingConnectionState recovered)
    {
        foreach (WatchRecord watch in recovered.Watches)
        {
            _watches.Add(connection, watch.Path, watch.Token, watch.Relative, watch.Depth);
            if (Persistence.FireRecoveredWatches
                && WatchTable.EventPayload(XsPath.ToWatcherForm(watch.Path, watch.Relative, connection.Domid), watch.Token) is { } payload)
            {
                _output.Send(connection.Id, XsMessageType.WatchEvent, 0, 0, payload);
            }
        }
        connection.LostTransactions.UnionWith(recovered.OpenTransactions);
    }

    /// <summary>Forgets a connection: its watches and transactions are dropped, its nodes stay.</summary>
    public void CloseConnection(int connectionId)
    {
        if (_connections.Remove(connectionId, out Connection? connection))
        {
            connection.Forgotten = true;
            DropWatchesAndTransactions(connection);
        }
    }

    /// <summary>True when the connection exists (it may have been dropped by a domain release).</summary>
    public bool HasConnection(int connectionId) => _connections.ContainsKey(connectionId);

    /// <summary>
    /// Executes one request and sends its reply (and the watch events it causes, before the reply, as C does).
    /// </summary>
    public void Process(int connectionId, XsHeader header, ReadOnlySpan<byte> payload)
    {
        // A pipelining client's requests come in runs: the last connection is looked for first.
        Connection? connection = _lastConnection;
        if (connection is null || connection.Id != connectionId || connection.Forgotten)
        {
            if (!_connections.TryGetValue(connectionId, out connection))
            {
                return;
            }
            _lastConnection = connection;
        }
        RequestContext request = _request;
        request.Reset();
        _domains.LastRefusal = null;
        XsError error;
        try
        {
            error = Dispatch(request, connection, header, payload);
        }
        finally
        {
            _watches.FirePending();
        }
        if (request.Deferred)
        {
            return;
        }
        if (error == XsError.None && request.Reply.Length > XsConstants.PayloadMax)
        {
            error = XsError.E2BIG;
        }
        if (error != XsError.None)
        {
            if (!connection.Privileged)
            {
                ReportRefusal(connection, header, payload, error);
            }
            _output.Send(connectionId, XsMessageType.Error, header.ReqId, header.TxId, XsErrors.WireName(error));
        }
        else
        {
            _output.Send(connectionId, header.Type, header.ReqId, header.TxId, request.Reply.Span);
        }
        foreach ((int target, byte[] message) in request.AfterReply)
        {
            _output.Send(target, XsMessageType.WatchEvent, 0, 0, message);
        }
    }

    /// <summary>Tells the host when an unprivileged request failed for a quota or for permissions.</summary>
    private void ReportRefusal(Connection connection, XsHeader header, ReadOnlySpan<byte> payload, XsError error)
    {
        (Quota Quota, long Limit)? quota = _domains.LastRefusal;
        if (header.TxId != 0 && connection.Transactions.TryGetValue(header.TxId, out Transaction? tx) && tx.NodeLimitReached)
        {
            tx.NodeLimitReached = false;
            quota ??= (Quota.TransactionNodes, tx.NodeLimit);
        }
        RefusalKind kind;
        if (quota is not null && error is XsError.ENOSPC or XsError.EINVAL)
        {
            kind = RefusalKind.Quota;
        }
        else if (error == XsError.EACCES)
        {
            kind = RefusalKind.Permission;
        }
        else
        {
            return;
        }
        (Quota which, long limit) = quota ?? default;
        string path = RefusalPaths.Of(connection.Domid, header.Type, payload);
        _host.Refused(this, new Refusal(connection.Id, connection.Domid, header.Type, path, kind, which, limit));
    }

    /// <summary>RESET_WATCHES, connection close and domain release: every watch and transaction goes.</summary>
    private void DropWatchesAndTransactions(Connection connection)
    {
        bool recorded = connection.Watches.Count > 0 || connection.Transactions.Count > 0 || connection.LostTransactions.Count > 0;
        _watches.RemoveAll(connection);
        _transactions.DropAll(connection);
        connection.LostTransactions.Clear();
        if (recorded)
        {
            // A ring with nothing recorded needs no record saying so.
            _journal.RingCleared(connection);
        }
    }

    /// <summary>Checks the tree and the accounting; returns null when consistent, else what is wrong.</summary>
    public string? CheckConsistency() => ConsistencyCheck.Run(_liveTree, _domains);

    private XsError Dispatch(RequestContext request, Connection connection, XsHeader header, ReadOnlySpan<byte> payload)
    {
        switch (header.Type)
        {
            case XsMessageType.Read:
            case XsMessageType.Write:
            case XsMessageType.Mkdir:
            case XsMessageType.Rm:
            case XsMessageType.Directory:
            case XsMessageType.DirectoryPart:
            case XsMessageType.GetPerms:
            case XsMessageType.SetPerms:
            case XsMessageType.TransactionEnd:
                return DispatchInView(request, connection, header, payload);
            case XsMessageType.Watch:
                return _watchRequests.Watch(request, connection, payload);
            case XsMessageType.Unwatch:
                return _watchRequests.Unwatch(request, connection, payload);
            case XsMessageType.ResetWatches:
                DropWatchesAndTransactions(connection);
                return request.Ok();
            case XsMessageType.TransactionStart:
                return _transactionRequests.Start(request, connection, header);
            case XsMessageType.GetDomainPath:
                return DomainRequests.GetDomainPath(request, payload);
            case XsMessageType.IsDomainIntroduced:
                return _domainRequests.IsDomainIntroduced(request, connection, payload);
            case XsMessageType.Introduce:
                return _domainRequests.Introduce(request, connection, payload);
            case XsMessageType.Release:
                return _domainRequests.Release(request, connection, payload);
            case XsMessageType.Resume:
                return _domainRequests.Resume(request, connection, payload);
            case XsMessageType.SetTarget:
                return _domainRequests.SetTarget(request, connection, payload);
            case XsMessageType.GetFeature:
                return _quotaRequests.GetFeature(request, connection, payload);
            case XsMessageType.SetFeature:
                return _quotaRequests.SetFeature(request, connection, payload);
            case XsMessageType.GetQuota:
                return _quotaRequests.GetQuota(request, connection, payload);
            case XsMessageType.SetQuota:
                return _quotaRequests.SetQuota(request, connection, payload);
            case XsMessageType.Control:
                return _controlRequests.Control(request, connection, header, payload);
            default:
                return XsError.ENOSYS;
        }
    }

    private XsError DispatchInView(RequestContext request, Connection connection, XsHeader header, ReadOnlySpan<byte> payload)
    {
        Transaction? tx = null;
        if (header.TxId != 0 && !connection.Transactions.TryGetValue(header.TxId, out tx))
        {
            return connection.LostTransactions.Contains(header.TxId)
                ? _transactionRequests.Lost(connection, header, payload)
                : XsError.ENOENT;
        }
        if (header.Type == XsMessageType.TransactionEnd)
        {
            return tx is null ? XsError.ENOENT : _transactionRequests.End(request, connection, tx, payload);
        }
        var view = new TreeView(tx is null ? _live : tx.Tree, tx);
        return header.Type switch
        {
            XsMessageType.Read => _nodes.Read(request, connection, view, payload),
            XsMessageType.Write => _nodes.Write(request, connection, view, payload),
            XsMessageType.Mkdir => _nodes.Mkdir(request, connection, view, payload),
            XsMessageType.Rm => _nodes.Rm(request, connection, view, payload),
            XsMessageType.Directory => _nodes.Directory(request, connection, view, payload),
            XsMessageType.DirectoryPart => _nodes.DirectoryPart(request, connection, view, payload),
            XsMessageType.GetPerms => _nodes.GetPerms(request, connection, view, payload),
            XsMessageType.SetPerms => _nodes.SetPerms(request, connection, view, payload),
            _ => XsError.ENOSYS,
        };
    }

    private void CreateInitialNodes()
    {
        // C xenstored creates /tool/xenstored at start; /local/domain is the toolstack's to create.
        TreeEdits.CreatePath(_live, _liveTree.Names, "/tool/xenstored", [], creator: 0, creatorPrivileged: true, _quietFeed);
    }

    private sealed class NullHost : IEngineHost;
}
