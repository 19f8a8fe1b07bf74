using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// Owns the engine: work is executed by one thread at a time, in arrival order, in batches (drain everything
/// queued, journal, then flush each connection that got output once). Transports post work from any thread. A
/// transport that may block nothing else (the socket readers) can run the batch itself when the store is free,
/// instead of waking the store thread: on a small machine each hand-off between threads costs more than the
/// request. The store thread runs whatever is left.
/// </summary>
internal sealed class StoreLoop : IEngineOutput, IDisposable
{
    private readonly ConcurrentQueue<StoreWork> _queue = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Dictionary<int, IClientConnection> _connections = [];
    private readonly HashSet<IClientConnection> _dirty = [];
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private volatile bool _stopping;
    private int _signalled;

    private readonly TraceSwitches _trace;

    private readonly ServerMetrics _metrics;

    public StoreLoop(EngineOptions options, IEngineHost host, TraceSwitches trace, ServerMetrics metrics, ILogger logger)
    {
        _logger = logger;
        _trace = trace;
        _metrics = metrics;
        Engine = new XenstoreEngine(options, this, host);
        _thread = new Thread(Run) { Name = "xs-store", IsBackground = true };
    }

    /// <summary>The engine; touch it only inside <see cref="StoreWork.Run"/> actions (one batch at a time).</summary>
    public XenstoreEngine Engine { get; }

    /// <summary>Requests executed since start.</summary>
    public long RequestsProcessed { get; private set; }

    /// <summary>Batches executed since start.</summary>
    public long Batches { get; private set; }

    /// <summary>Runs on the store thread after each batch, before the batch's output is flushed.</summary>
    public Action<XenstoreEngine>? BatchExecuted { get; set; }

    public void Start() => _thread.Start();

    public void Post(StoreWork work)
    {
        _queue.Enqueue(work);
        Signal();
    }

    /// <summary>Queues work without waking anyone: the caller follows with <see cref="RunHereOrSignal"/>.</summary>
    public void Enqueue(StoreWork work) => _queue.Enqueue(work);

    /// <summary>
    /// Runs the queued work on the calling thread if no batch is running, else leaves it to the store thread.
    /// Only for callers that never wait for another thread while holding up the store (not the ring thread: the
    /// store waits for it when a domain is introduced).
    /// </summary>
    public void RunHereOrSignal()
    {
        if (_gate.IsHeldByCurrentThread)
        {
            // Called from inside a batch: the batch drains the queue before it ends.
            return;
        }
        if (_gate.TryEnter())
        {
            try
            {
                RunBatch();
            }
            finally
            {
                _gate.Exit();
            }
            if (_queue.IsEmpty)
            {
                return;
            }
        }
        Signal();
    }

    private void Signal()
    {
        // Wake the loop only if it may be asleep: one release per batch, not per request.
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            _signal.Release();
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

    public void Stop()
    {
        _stopping = true;
        _signal.Release();
        if (Thread.CurrentThread != _thread && _thread.IsAlive)
        {
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop();
        _signal.Dispose();
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

    /// <summary>Sends a reply from outside a request (the deferred answer of a live update); inside a batch only.</summary>
    public void SendReply(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload) =>
        ((IEngineOutput)this).Send(connectionId, type, reqId, txId, payload);

    private void Run()
    {
        while (!_stopping)
        {
            _signal.Wait();
            Volatile.Write(ref _signalled, 0);
            lock (_gate)
            {
                RunBatch();
            }
        }
    }

    private void RunBatch()
    {
        if (_queue.IsEmpty)
        {
            return;
        }
        while (_queue.TryDequeue(out StoreWork work))
        {
            Execute(work);
        }
        // The batch's changes reach the journal before any of its replies can leave.
        BatchExecuted?.Invoke(Engine);
        foreach (IClientConnection connection in _dirty)
        {
            connection.Flush();
        }
        _dirty.Clear();
        Batches++;
    }

    private void Execute(StoreWork work)
    {
        try
        {
            switch (work.Kind)
            {
                case StoreWorkKind.Request:
                    if (_trace.Io)
                    {
                        Log.Trace(_logger, work.Connection!.Id, work.Connection.Domid, "IN " + work.Header.Type, work.Header.TxId, TraceText.Summarize(work.Payload));
                    }
                    Engine.Process(work.Connection!.Id, work.Header, work.Payload);
                    RequestsProcessed++;
                    _metrics.RequestProcessed(work.Header.Type, work.Timestamp);
                    work.Connection.RequestCompleted();
                    break;
                case StoreWorkKind.Open:
                    if (_trace.Connections)
                    {
                        Log.Trace(_logger, work.Connection!.Id, work.Connection.Domid, "CONNECT", 0, "");
                    }
                    _connections[work.Connection!.Id] = work.Connection;
                    _metrics.ConnectionOpened();
                    Engine.OpenConnection(work.Connection.Id, work.Connection.Domid, work.Connection.Privileged);
                    break;
                case StoreWorkKind.Close:
                    if (_trace.Connections)
                    {
                        Log.Trace(_logger, work.Connection!.Id, work.Connection.Domid, "DISCONNECT", 0, "");
                    }
                    if (_connections.Remove(work.Connection!.Id))
                    {
                        _metrics.ConnectionClosed();
                    }
                    _dirty.Remove(work.Connection);
                    Engine.CloseConnection(work.Connection.Id);
                    break;
                case StoreWorkKind.Action:
                    work.Action!(Engine);
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in one request must not take the daemon down; the request's connection is dropped instead.
            Log.StoreError(_logger, e);
            if (work.Connection is { } connection)
            {
                connection.Abort("internal error");
            }
        }
    }

    /// <summary>Drops the connections of a released domain (the engine already forgot them): inside a batch only.</summary>
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
