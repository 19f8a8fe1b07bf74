using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.Reactor;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// The single thread that owns the engine. It waits in epoll on the Unix sockets (reading them, executing their
/// requests as they are parsed) and on a wake-up for work posted from other threads (guest rings, actions). A
/// batch is everything one wait returned plus everything posted: executed in order, journalled, then each
/// connection that got output is flushed once. The ready sockets' receives, and later their sends, go to the kernel
/// together (<see cref="SocketIoBatch"/>). The sockets need no other thread: on a small machine each
/// hand-off between threads costs more than the request itself.
/// </summary>
internal sealed class StoreLoop : IEngineOutput, IDisposable
{
    private readonly ConcurrentQueue<StoreWork> _queue = new();
    private readonly Dictionary<int, IClientConnection> _connections = [];
    private readonly Dictionary<long, IPollable> _pollables = [];
    private readonly HashSet<IClientConnection> _dirty = [];
    private readonly List<IClientConnection> _flushing = [];
    private readonly Epoll _epoll = new();
    private readonly Action<long, uint> _onReady;
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly TraceSwitches _trace;
    private readonly ServerMetrics _metrics;
    private volatile bool _stopping;
    private int _signalled;

    public StoreLoop(EngineOptions options, bool useIoUring, IEngineHost host, TraceSwitches trace, ServerMetrics metrics, ILogger logger)
    {
        _logger = logger;
        Io = new SocketIoBatch(useIoUring, (target, e) =>
        {
            Log.StoreError(_logger, e);
            (target as IClientConnection)?.Abort("internal error");
        });
        _trace = trace;
        _metrics = metrics;
        _onReady = OnReady;
        Engine = new XenstoreEngine(options, this, host);
        _thread = new Thread(Run) { Name = "xs-store", IsBackground = true };
    }

    /// <summary>The engine; touch it only from the store thread (inside <see cref="StoreWork.Run"/> actions).</summary>
    public XenstoreEngine Engine { get; }

    /// <summary>The sends and receives of the sockets ready in this step of the loop (store thread).</summary>
    public SocketIoBatch Io { get; }

    /// <summary>Runs on the store thread after each batch, before the batch's output is flushed.</summary>
    public Action<XenstoreEngine>? BatchExecuted { get; set; }

    public void Start() => _thread.Start();

    public void Post(StoreWork work)
    {
        _queue.Enqueue(work);
        // Wake the loop only if it may be asleep: one wake-up per batch, not per item.
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            _epoll.Wake();
        }
    }

    /// <summary>Runs an action on the store thread and waits for its result.</summary>
    public Task<T> InvokeAsync<T>(Func<XenstoreEngine, T> action)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(StoreWork.Run(engine =>
        {
            try
            {
                completion.SetResult(action(engine));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                completion.SetException(e);
            }
        }));
        return completion.Task;
    }

    /// <summary>Watches a descriptor for the store thread; events arrive at <see cref="IPollable.OnReady"/>.</summary>
    public void Watch(int descriptor, uint events, long token, IPollable pollable)
    {
        _pollables[token] = pollable;
        _epoll.Add(descriptor, events, token);
    }

    /// <summary>Changes the events watched on a descriptor (store thread).</summary>
    public void Rewatch(int descriptor, uint events, long token) => _epoll.Modify(descriptor, events, token);

    /// <summary>Stops watching a descriptor (store thread); its token is never reported again.</summary>
    public void Unwatch(int descriptor, long token)
    {
        if (_pollables.Remove(token))
        {
            _epoll.Remove(descriptor);
        }
    }

    /// <summary>A connection opens on the store thread (sockets): the engine learns of it now.</summary>
    public void Open(IClientConnection connection)
    {
        if (_trace.Connections)
        {
            Log.Trace(_logger, connection.Id, connection.Domid, "CONNECT", 0, "");
        }
        _connections[connection.Id] = connection;
        _metrics.ConnectionOpened();
        Engine.OpenConnection(connection.Id, connection.Domid, connection.Privileged);
    }

    /// <summary>A connection is gone (store thread): the engine forgets it, its watches and transactions.</summary>
    public void Close(IClientConnection connection)
    {
        if (_trace.Connections)
        {
            Log.Trace(_logger, connection.Id, connection.Domid, "DISCONNECT", 0, "");
        }
        if (_connections.Remove(connection.Id))
        {
            _metrics.ConnectionClosed();
        }
        _dirty.Remove(connection);
        Engine.CloseConnection(connection.Id);
    }

    /// <summary>Marks a connection for a flush at the end of the batch (after the journal), store thread.</summary>
    public void FlushAfterBatch(IClientConnection connection) => _dirty.Add(connection);

    /// <summary>Executes one request now (store thread); false when it failed and the connection was dropped.</summary>
    public bool Execute(IClientConnection connection, XsHeader header, ReadOnlySpan<byte> payload, long arrival)
    {
        try
        {
            if (_trace.Io)
            {
                Log.Trace(_logger, connection.Id, connection.Domid, "IN " + header.Type, header.TxId, TraceText.Summarize(payload));
            }
            Engine.Process(connection.Id, header, payload);
            _metrics.RequestProcessed(header.Type, arrival);
            connection.RequestCompleted();
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in one request must not take the daemon down; the request's connection is dropped instead.
            Log.StoreError(_logger, e);
            connection.Abort("internal error");
            return false;
        }
    }

    public void Stop()
    {
        _stopping = true;
        _epoll.Wake();
        if (Thread.CurrentThread != _thread && _thread.IsAlive)
        {
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop();
        _epoll.Dispose();
        Io.Dispose();
    }

    void IEngineOutput.Send(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        if (_connections.TryGetValue(connectionId, out IClientConnection? connection))
        {
            if (_trace.Io)
            {
                Log.Trace(_logger, connectionId, connection.Domid, "OUT " + type, txId, TraceText.Summarize(payload));
            }
            bool queued = connection.Output.Append(type, reqId, txId, payload);
            if (type == XsMessageType.WatchEvent)
            {
                _metrics.WatchEvent(queued);
            }
            else if (type == XsMessageType.Error)
            {
                _metrics.ErrorSent(payload);
            }
            _dirty.Add(connection);
        }
    }

    /// <summary>Sends a reply from outside a request (the deferred answer of a live update); store thread only.</summary>
    public void SendReply(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload) =>
        ((IEngineOutput)this).Send(connectionId, type, reqId, txId, payload);

    private void Run()
    {
        while (!_stopping)
        {
            _epoll.Wait(_onReady);
            // Every ready socket is read at once; each request executes as its connection's input is parsed.
            Io.Complete();
            RunQueued();
            // The batch's changes reach the journal before any of its replies can leave.
            BatchExecuted?.Invoke(Engine);
            FlushDirty();
        }
    }

    /// <summary>Writes every connection that has output, all sockets' sends together; again for output left over.</summary>
    private void FlushDirty()
    {
        while (_dirty.Count > 0)
        {
            // A flush may close a connection (which takes it out of _dirty), so flush from a copy.
            _flushing.AddRange(_dirty);
            _dirty.Clear();
            foreach (IClientConnection connection in _flushing)
            {
                try
                {
                    connection.Flush();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log.StoreError(_logger, e);
                    connection.Abort("internal error");
                }
            }
            _flushing.Clear();
            Io.Complete();
        }
    }

    private void OnReady(long token, uint events)
    {
        if (token == Epoll.WakeToken)
        {
            Volatile.Write(ref _signalled, 0);
        }
        else if (_pollables.TryGetValue(token, out IPollable? pollable))
        {
            try
            {
                pollable.OnReady(events);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One socket's failure (a descriptor gone under us, say) must not stop the store thread.
                Log.StoreError(_logger, e);
                (pollable as IClientConnection)?.Abort("internal error");
            }
        }
    }

    private void RunQueued()
    {
        while (_queue.TryDequeue(out StoreWork work))
        {
            if (work.Kind == StoreWorkKind.Request)
            {
                Execute(work.Connection!, work.Header, work.Payload!, work.Timestamp);
                continue;
            }
            try
            {
                switch (work.Kind)
                {
                    case StoreWorkKind.Open:
                        Open(work.Connection!);
                        break;
                    case StoreWorkKind.Close:
                        Close(work.Connection!);
                        break;
                    case StoreWorkKind.Action:
                        work.Action!(Engine);
                        break;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.StoreError(_logger, e);
                work.Connection?.Abort("internal error");
            }
        }
    }

    /// <summary>Drops the connections of a released domain (the engine already forgot them): store thread only.</summary>
    public void ForgetConnectionsOf(uint domid)
    {
        foreach (IClientConnection connection in _connections.Values.Where(c => c.Domid == domid && !c.Privileged).ToArray())
        {
            _connections.Remove(connection.Id);
            _dirty.Remove(connection);
            connection.Abort("domain released");
        }
    }
}
