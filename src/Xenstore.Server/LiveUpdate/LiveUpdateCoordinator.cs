using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Rings;
using Xenstore.Server.Transports.Sockets;
using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// Restart without dropping clients (C xenstored's live update, over a socket). The new binary is started first,
/// while this daemon still serves, and stands by (<see cref="StandbySuccessor"/>); meanwhile a snapshot is written in
/// the background, and the new daemon loads it and the journal, which only grows from then on. Only then does the
/// daemon stop reading (every request already read has been executed by then), append the last records, and hand
/// the new daemon, over their channel, the listening socket, every client socket and a record (unparsed input,
/// unsent output, watches). The new daemon catches up on the journal, serves the sockets, answers the request that
/// asked for the update and says so; the old one exits. Clients see a pause of the hand-over, not of a process
/// start or of loading the whole state. If anything fails before the new daemon serves, it is stopped and the old one
/// carries on as if nothing happened.
/// </summary>
internal sealed class LiveUpdateCoordinator(
    LiveUpdateRequests requests,
    WorkQueue queue,
    EngineOutputRouter output,
    UnixSocketListener listener,
    OpenSockets sockets,
    RingManager? rings,
    Persistence.StateStore? state,
    ILogger logger) : IDisposable
{
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a successor kept after a BUSY waits for the retry that would use it.</summary>
    private static readonly TimeSpan s_keptStandbyLifetime = TimeSpan.FromSeconds(60);

    private readonly TaskCompletionSource<int> _handedOver = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _running;
    private StandbySuccessor? _kept;

    /// <summary>
    /// Completes with the successor's process id once it has taken over: the daemon should leave without closing
    /// anything.
    /// </summary>
    public Task<int> HandedOver => _handedOver.Task;

    /// <summary>Carries out the updates asked for, one at a time, until <see cref="LiveUpdateRequests.Complete"/>.</summary>
    public void Start() => _running = Task.Run(async () =>
    {
        await foreach (LiveUpdateStart start in requests.Starts.ReadAllAsync().ConfigureAwait(false))
        {
            await RunAsync(start.Requester, start.Header, start.Force).ConfigureAwait(false);
        }
    });

    /// <summary>Stops taking requests and waits for an update under way.</summary>
    public async Task StopAsync()
    {
        requests.Complete();
        // An update whose new daemon still starts gives way at once; one that paused the clients is finished.
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_running is not null)
        {
            await _running.ConfigureAwait(false);
        }
        Interlocked.Exchange(ref _kept, null)?.Abandon();
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>
    /// The successor that stood by for an update that gave way to a transaction, if it still stands by for the same
    /// binary and command line: xenstore-control asks again soon, and the retry then pauses the clients at once,
    /// with less time for another transaction to start. Otherwise a new one.
    /// </summary>
    private StandbySuccessor StartOrReuseSuccessor()
    {
        StandbySuccessor? kept = Interlocked.Exchange(ref _kept, null);
        if (kept is not null && kept.IsStandingBy && kept.Binary == requests.Binary && kept.CommandLine == requests.CommandLine)
        {
            return kept;
        }
        kept?.Abandon();
        return StandbySuccessor.Start(requests.Binary, requests.CommandLine);
    }

    /// <summary>No successor waits on the state directory any more: snapshots start again as the journal grows.</summary>
    private void ReleaseState() => queue.Post(StoreWork.Run(_ => state!.EndHandover()));

    /// <summary>Keeps a standing-by successor for a retry, for a while.</summary>
    private void Keep(StandbySuccessor successor)
    {
        Interlocked.Exchange(ref _kept, successor)?.Abandon();
        _ = Task.Delay(s_keptStandbyLifetime).ContinueWith(_ =>
        {
            if (Interlocked.CompareExchange(ref _kept, null, successor) == successor)
            {
                successor.Abandon();
                ReleaseState();
            }
        }, TaskScheduler.Default);
    }

    private async Task RunAsync(int requester, XsHeader header, bool force)
    {
        var stopped = new List<(SocketConnection Connection, byte[] Input)>();
        var unsentOutput = new Dictionary<SocketConnection, byte[]>();
        Dictionary<uint, (byte[] Input, byte[] Output)> ringBuffers = [];
        StandbySuccessor? successor = null;
        long pausedAt = 0;
        try
        {
            // Clients are served while the new process starts; they pause only once it stands by.
            successor = StartOrReuseSuccessor();
            using (_stopping.Token.Register(successor.Interrupt))
            {
                if (!successor.HasLoaded)
                {
                    // The new daemon loads the state while clients are served, from a snapshot written meanwhile
                    // and a journal that only grows until the update is over (it catches up on it at the hand-over).
                    Task snapshot = await queue.InvokeAsync(engine => state!.PrepareHandover(engine)).ConfigureAwait(false);
                    await successor.WaitStandingByAsync(s_readyTimeout).ConfigureAwait(false);
                    await snapshot.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                    await queue.InvokeAsync(engine =>
                    {
                        state!.FixForHandover(engine);
                        return true;
                    }).ConfigureAwait(false);
                    await successor.LoadAsync(s_readyTimeout).ConfigureAwait(false);
                }
            }
            _stopping.Token.ThrowIfCancellationRequested();
            pausedAt = Stopwatch.GetTimestamp();
            if (rings is not null)
            {
                await rings.SetPausedAsync(true).ConfigureAwait(false);
            }
            await listener.StopAcceptingAsync().ConfigureAwait(false);
            // Every request read so far has been executed: the store thread runs them as it parses them.
            stopped.AddRange(await queue.InvokeAsync(_ =>
                sockets.All.Where(c => c.IsOpen).Select(c => (c, c.StopReading())).ToList()).ConfigureAwait(false));
            // Runs after every request already read: the store is quiet from here on.
            (List<List<WatchRecord>> watches, List<HandoverRing> ringWatches) = await queue.InvokeAsync(engine =>
            {
                // The update was accepted with no transaction open, but clients kept being read until just now: one
                // may have started a transaction since, which the successor would not know. Unless forced, the
                // update gives way, as it would have if that transaction had come first.
                if (!force && engine.OpenTransactionCount > 0)
                {
                    throw new TransactionsOpenException();
                }
                state!.SettleForHandover(engine);
                return (stopped.Select(s => engine.LiveUpdate.ExportWatches(s.Connection.Id).ToList()).ToList(),
                    engine.Domains.Introduced()
                        .Select(d => engine.LiveUpdate.ConnectionOf(d.Domid) is int id ? new HandoverRing(d.Domid, engine.LiveUpdate.ExportWatches(id).ToList()) : null)
                        .OfType<HandoverRing>().ToList());
            }).ConfigureAwait(false);
            if (rings is not null)
            {
                ringBuffers = await rings.TakeBuffersAsync().ConfigureAwait(false);
            }
            await WaitForOutputAsync(stopped.Select(s => s.Connection).ToList()).ConfigureAwait(false);
            // The listening socket first, then each connection's still open, in the order of the record's
            // connections. Each socket is kept from closing until it is handed over, so its number stays its own.
            var handles = new List<SafeHandle> { listener.Socket.SafeHandle };
            var handoverConnections = new List<HandoverConnection>();
            int requesterIndex = -1;
            await queue.InvokeAsync(_ =>
            {
                for (int i = 0; i < stopped.Count; i++)
                {
                    SocketConnection connection = stopped[i].Connection;
                    if (!connection.IsOpen)
                    {
                        continue;
                    }
                    byte[] unsent = new byte[4096];
                    int length = connection.Output.TakeAll(ref unsent);
                    unsentOutput[connection] = unsent[..length];
                    requesterIndex = connection.Id == requester ? handoverConnections.Count : requesterIndex;
                    handles.Add(connection.Socket.SafeHandle);
                    handoverConnections.Add(new HandoverConnection(stopped[i].Input, unsentOutput[connection], watches[i]));
                }
                return true;
            }).ConfigureAwait(false);
            var handover = new Handover(handoverConnections, ringWatches,
                requesterIndex >= 0 ? new HandoverReply(requesterIndex, header.ReqId, header.TxId) : null);
            var record = new HandoverRecord(handover, ringBuffers.Select(p => new HandoverRingBuffers(p.Key, p.Value.Input, p.Value.Output)).ToList());
            await successor.HandOverAsync(handles, HandoverCodec.Encode(record)).ConfigureAwait(false);
            await successor.WaitServingAsync(s_readyTimeout).ConfigureAwait(false);
            Log.LiveUpdateDone(logger, successor.ProcessId, Stopwatch.GetElapsedTime(pausedAt).TotalMilliseconds);
            // The sockets stay open in the successor; the daemon leaves without closing or unlinking anything.
            listener.MarkHandedOver();
            _handedOver.TrySetResult(successor.ProcessId);
            successor.Dispose();
            successor = null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (e is not TransactionsOpenException)
            {
                Log.LiveUpdateFailed(logger, e);
            }
            if (e is TransactionsOpenException && successor is not null)
            {
                // Snapshots stay held: the kept successor catches up on the journal it loaded.
                Keep(successor);
            }
            else
            {
                successor?.Abandon();
                ReleaseState();
            }
            await RollBackAsync(stopped, unsentOutput, ringBuffers, requester, header,
                e is TransactionsOpenException ? "BUSY" : "live update failed: " + e.Message).ConfigureAwait(false);
        }
        finally
        {
            requests.Finished();
        }
    }

    /// <summary>
    /// Waits until the replies of the last requests read are written: they were flushed after the batch that ran
    /// them, so a step of the store thread later every client that reads is done. Only a client that does not read
    /// (its socket's buffer full, part of a reply written) is waited for, a while, before the update gives way.
    /// </summary>
    private async Task WaitForOutputAsync(List<SocketConnection> connections)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        for (int round = 0; ; round++)
        {
            List<SocketConnection> busy = await queue.InvokeAsync(_ =>
                connections.Where(c => c.IsOpen && !c.OutputIdle).ToList()).ConfigureAwait(false);
            if (busy.Count == 0)
            {
                return;
            }
            if (DateTime.UtcNow >= deadline)
            {
                if (busy.Any(c => c.IsWriting))
                {
                    throw new InvalidOperationException("a client is not reading: its output is still being written");
                }
                return;
            }
            // A few store-thread steps first (output carried to the next batch), then a client slow to read.
            if (round >= 3)
            {
                await Task.Delay(5).ConfigureAwait(false);
            }
        }
    }

    private async Task RollBackAsync(List<(SocketConnection Connection, byte[] Input)> stopped,
        Dictionary<SocketConnection, byte[]> unsentOutput, Dictionary<uint, (byte[] Input, byte[] Output)> ringBuffers, int requester, XsHeader header, string reply)
    {
        foreach ((uint domid, (byte[] input, byte[] output)) in ringBuffers)
        {
            await rings!.SeedBuffersAsync(domid, input, output).ConfigureAwait(false);
        }
        if (rings is not null)
        {
            await rings.SetPausedAsync(false).ConfigureAwait(false);
        }
        queue.Post(StoreWork.Run(_ =>
        {
            foreach (SocketConnection connection in stopped.Select(s => s.Connection).Where(c => c.IsOpen))
            {
                connection.ResumeReading(unsentOutput.GetValueOrDefault(connection, []));
            }
        }));
        listener.ResumeAccepting();
        queue.Post(StoreWork.Run(_ => output.Send(requester, XsMessageType.Control, header.ReqId, header.TxId,
            System.Text.Encoding.ASCII.GetBytes(reply + "\0"))));
    }
}

/// <summary>A transaction was opened between the update's acceptance and the store going quiet.</summary>
internal sealed class TransactionsOpenException() : InvalidOperationException("transactions are open");
