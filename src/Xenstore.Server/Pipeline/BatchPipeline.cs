using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.Accounting;
using Xenstore.Server.Reactor;
using Xenstore.Server.Transports.Rings;
using Xenstore.Store;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// One batch of the store thread, in the order that makes the daemon crash-safe:
/// <list type="number">
/// <item>receive: every ready socket is read (one io_uring submission) and a turn of its requests executes as they
/// are parsed, then input held over from the last batch gets its next turn, then every ready guest ring within its
/// budget;</item>
/// <item>execute: the requests and actions other threads posted (guest rings, in-memory connections, queries);</item>
/// <item>journal: the batch's changes are appended to the journal;</item>
/// <item>publish: the batch's replies and events become takeable (<see cref="OutputQueue.Publish"/>);</item>
/// <item>flush: each touched connection's transport sends what is published (sockets together, rings copied into
/// their pages), then each ring that moved data is notified once.</item>
/// </list>
/// No transport can take output before step 4, so no reply can leave before its change is journalled.
/// Everything here runs on the store thread.
/// </summary>
internal sealed class BatchPipeline(
    XenstoreEngine engine,
    WorkQueue queue,
    SocketIoBatch io,
    RingManager? rings,
    IBatchJournal journal,
    ConnectionRegistry connections,
    EngineOutputRouter output,
    AccessTrace trace,
    ServerMetrics metrics,
    OperatorView view,
    ILogger logger)
{
    private readonly List<IClientConnection> _flushing = [];
    private readonly List<IClientConnection> _carried = [];
    private List<IHeldInput> _heldOver = [];
    private List<IHeldInput> _continuing = [];
    private readonly HeapTrimmer _trimmer = new(view.Table.Time, HeapTrimmer.CollectAggressively);
    private readonly RequestTiming _clock = new(view.Table, metrics);

    // Requests (counted in Execute) and other posted work executed so far: a batch that moved it was not quiet.
    private long _work;

    public XenstoreEngine Engine => engine;

    /// <summary>The sends and receives of the sockets ready in this batch.</summary>
    public SocketIoBatch Io => io;

    /// <summary>The times of this batch's requests (one clock reading per run of one connection's requests).</summary>
    public RequestTiming Clock => _clock;

    public void RunBatch()
    {
        long workBefore = _work;
        // Held over from the last batch: they continue once the receives are done (a receive queued for the same
        // connection fills its buffer where the input ended when it was queued, so that input must not move first).
        (_heldOver, _continuing) = (_continuing, _heldOver);
        io.Complete();
        foreach (IHeldInput input in _continuing)
        {
            input.ContinueInput();
        }
        _continuing.Clear();
        rings?.Receive(this);
        ExecuteQueued();
        _clock.Close();
        journal.Append(engine);
        Publish();
        Flush();
        rings?.NotifyTouched();
        _trimmer.AfterBatch(engine.NodeCount, busy: _work != workBefore);
        _clock.Close();
    }

    /// <summary>How long the store thread may wait for readiness before the next batch (-1: until something happens).</summary>
    public int WaitMilliseconds()
    {
        if (_heldOver.Count > 0)
        {
            return 0;
        }
        int ringWait = rings?.WaitMilliseconds() ?? -1;
        int trimWait = _trimmer.WaitMilliseconds();
        return ringWait < 0 ? trimWait : trimWait < 0 ? ringWait : Math.Min(ringWait, trimWait);
    }

    /// <summary>
    /// Executes one request now; false when it failed and the connection was dropped. <paramref name="arrival"/> is
    /// a timestamp of <see cref="Clock"/> (<see cref="RequestTiming.Arrival"/> for input received on this thread).
    /// </summary>
    public bool Execute(IClientConnection connection, XsHeader header, ReadOnlySpan<byte> payload, long arrival)
    {
        _work++;
        try
        {
            trace.Request(connection.Id, connection.Domid, header, payload);
            _clock.Starting(connection.Id);
            engine.Process(connection.Id, header, payload);
            _clock.Executed(header.Type, arrival);
            connection.RequestCompleted();
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in one request must not take the daemon down; the request's connection is dropped instead.
            Log.StoreError(logger, e);
            connection.Abort("internal error");
            return false;
        }
    }

    /// <summary>
    /// A connection ended its turn with requests left in its input: they continue in the next batch, after this
    /// batch's replies have gone out, and the store thread does not wait for readiness before it.
    /// </summary>
    public void HoldOver(IHeldInput input) => _heldOver.Add(input);

    /// <summary>A connection opens: the engine learns of it now.</summary>
    public void Open(IClientConnection connection)
    {
        _clock.Close();
        trace.Connection(connection.Id, connection.Domid, connection.Kind, opened: true);
        connections.Add(connection);
        view.Table.Opened(connection);
        metrics.ConnectionOpened();
        engine.OpenConnection(connection.Id, connection.Domid, connection.Privileged, connection.Kind);
    }

    /// <summary>A connection is gone: the engine forgets it, its watches and transactions.</summary>
    public void Close(IClientConnection connection)
    {
        _clock.Close();
        trace.Connection(connection.Id, connection.Domid, connection.Kind, opened: false);
        if (connections.Remove(connection))
        {
            metrics.ConnectionClosed();
        }
        output.Forget(connection);
        view.ConnectionClosed(connection.Id);
        engine.CloseConnection(connection.Id);
    }

    /// <summary>Flushes a connection with this batch, after the journal (a socket whose send can go on, say).</summary>
    public void FlushAfterBatch(IClientConnection connection) => output.Touch(connection);

    private void ExecuteQueued()
    {
        while (queue.TryTake(out StoreWork work))
        {
            if (work.Kind == StoreWorkKind.Request)
            {
                Execute(work.Connection!, work.Header, work.Payload!, work.Timestamp);
                continue;
            }
            _work++;
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
                        _clock.Close();
                        work.Action!(engine);
                        break;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.StoreError(logger, e);
                work.Connection?.Abort("internal error");
            }
        }
    }

    private void Publish()
    {
        output.TakeTouched(_flushing);
        foreach (IClientConnection connection in _flushing)
        {
            connection.Output.Publish();
        }
    }

    /// <summary>Lets every touched transport send; all sockets' sends go together, again for sends that can go on.</summary>
    private void Flush()
    {
        while (_flushing.Count > 0)
        {
            foreach (IClientConnection connection in _flushing)
            {
                try
                {
                    connection.Flush();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log.StoreError(logger, e);
                    connection.Abort("internal error");
                }
            }
            _flushing.Clear();
            io.Complete();
            output.TakeTouched(_flushing);
            // A connection closing in this step may have made the engine produce output; it is not journalled
            // yet, so it waits for the next batch, which is made to come.
            foreach (IClientConnection connection in _flushing)
            {
                if (connection.Output.HasUnpublished)
                {
                    _carried.Add(connection);
                }
            }
        }
        if (_carried.Count > 0)
        {
            foreach (IClientConnection connection in _carried)
            {
                output.Touch(connection);
            }
            _carried.Clear();
            queue.Post(StoreWork.Run(static _ => { }));
        }
    }
}
