using Xenstore.Protocol;
using Xenstore.Server.Accounting;
using Xenstore.Store;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// The engine's output, routed: each reply or event is appended (unpublished) to its connection's queue, counted
/// and traced, and the connection is remembered as touched by the current batch, so the batch publishes and
/// flushes it after the journal. Store thread only.
/// </summary>
internal sealed class EngineOutputRouter(ConnectionRegistry connections, AccessTrace trace, ServerMetrics metrics, AccountingTable accounting) : IEngineOutput
{
    private readonly HashSet<IClientConnection> _touched = [];

    /// <summary>The connection last added to <see cref="_touched"/> in this batch: a run of replies adds it once.</summary>
    private IClientConnection? _lastTouched;

    /// <summary>The connections with output (or a pending send) in the current batch.</summary>
    public IReadOnlyCollection<IClientConnection> Touched => _touched;

    public void Send(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        if (!connections.TryGet(connectionId, out IClientConnection connection))
        {
            return;
        }
        AppendOutcome outcome = connection.Output.Append(type, reqId, txId, payload);
        if (outcome == AppendOutcome.AlreadyQueued)
        {
            // The reader gets the identical event already queued: nothing is sent, so nothing is traced or counted.
            return;
        }
        trace.Reply(connectionId, connection.Domid, type, reqId, txId, payload);
        bool queued = outcome == AppendOutcome.Queued;
        if (type == XsMessageType.WatchEvent)
        {
            metrics.WatchEvent(queued);
            if (accounting.Find(connectionId) is { } counters)
            {
                if (queued)
                {
                    counters.EventsQueued++;
                }
                else
                {
                    counters.EventsDropped++;
                }
            }
        }
        else if (type == XsMessageType.Error)
        {
            XsError error = XsErrors.Parse(payload);
            metrics.ErrorSent(error);
            if (accounting.Find(connectionId) is { } counters)
            {
                counters.Errors[(int)error]++;
            }
        }
        if (!ReferenceEquals(connection, _lastTouched))
        {
            _touched.Add(connection);
            _lastTouched = connection;
        }
    }

    /// <summary>A connection to flush with this batch (a socket whose send can go on, say).</summary>
    public void Touch(IClientConnection connection) => _touched.Add(connection);

    public void Forget(IClientConnection connection)
    {
        _touched.Remove(connection);
        if (ReferenceEquals(connection, _lastTouched))
        {
            _lastTouched = null;
        }
    }

    /// <summary>Takes the touched connections out into <paramref name="into"/>.</summary>
    public void TakeTouched(List<IClientConnection> into)
    {
        into.AddRange(_touched);
        _touched.Clear();
        _lastTouched = null;
    }
}
