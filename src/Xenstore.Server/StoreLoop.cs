using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// The single thread that owns the engine. Transports post work from any thread; the loop drains everything
/// available, executes it in arrival order, then flushes each connection that got output once per batch.
/// </summary>
internal sealed class StoreLoop : IEngineOutput, IDisposable
{
    private readonly ConcurrentQueue<StoreWork> _queue = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Dictionary<int, IClientConnection> _connections = [];
    private readonly HashSet<IClientConnection> _dirty = [];
    private readonly Thread _thread;
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

    /// <summary>The engine; touch it only from the store thread (inside <see cref="StoreWork.Run"/> actions).</summary>
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

    /// <summary>Sends a reply from outside a request (the deferred answer of a live update); store thread only.</summary>
    public void SendReply(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload) =>
        ((IEngineOutput)this).Send(connectionId, type, reqId, txId, payload);

    private void Run()
    {
        while (!_stopping)
        {
            _signal.Wait();
            Volatile.Write(ref _signalled, 0);
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
