using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Rings;
using Xenstore.Server.Transports.Sockets;
using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// The successor's side of a live update: stands by until the old daemon hands over, then takes over the listening
/// socket and every client socket with its unparsed input, unsent output and watches, refills the guest rings'
/// buffers and watches, answers the request that asked for the update, and tells the old daemon that it may leave.
/// </summary>
internal sealed class HandoverReceiver(HandoverChannel channel, WorkQueue queue, EngineOutputRouter output, ILogger logger) : IDisposable
{
    private HandoverRecord? _file;
    private List<int> _descriptors = [];

    /// <summary>
    /// Tells the old daemon that this one stands by, loads the state when told to (<paramref name="load"/>), and
    /// waits for the hand-over (the journal is complete from then on); returns the listening socket. Throws when the
    /// old daemon gives the update up instead.
    /// </summary>
    public async Task<Socket> StandByAsync(Action load, CancellationToken cancellationToken)
    {
        channel.Signal(HandoverChannel.StandingBy);
        // Stopping while standing by ends the channel, which the old daemon takes as a failed start.
        using CancellationTokenRegistration stop = cancellationToken.Register(channel.ShutDown);
        (_descriptors, byte[] record) = await Task.Run(() =>
        {
            // No time limit: the old daemon ends the channel when it gives the update up.
            byte? order = channel.Receive(TimeSpan.FromDays(1));
            if (order != HandoverChannel.Load)
            {
                throw order is null ? new EndOfStreamException("the previous daemon gave the live update up") : new InvalidDataException($"live update: {order} instead of the order to load");
            }
            load();
            channel.Signal(HandoverChannel.Loaded);
            return channel.ReceiveHandover();
        }, CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        _file = HandoverCodec.Decode(record);
        if (_descriptors.Count != _file.Handover.Connections.Count + 1)
        {
            throw new InvalidDataException($"{_descriptors.Count} sockets handed over for {_file.Handover.Connections.Count} connections");
        }
        return new Socket(new SafeSocketHandle(_descriptors[0], ownsHandle: true));
    }

    /// <summary>Guest rings get their watches and buffers back (after the rings' sessions were opened).</summary>
    public void AdoptRings(RingManager rings)
    {
        HandoverRecord file = _file ?? throw new InvalidOperationException("nothing was handed over");
        queue.Post(StoreWork.Run(engine =>
        {
            foreach (HandoverRing ring in file.Handover.Rings)
            {
                if (engine.LiveUpdate.ConnectionOf(ring.Domid) is int id)
                {
                    foreach (WatchRecord watch in ring.Watches)
                    {
                        engine.LiveUpdate.RestoreWatch(id, watch);
                    }
                }
            }
        }));
        foreach (HandoverRingBuffers buffers in file.RingBuffers)
        {
            _ = rings.SeedBuffersAsync(buffers.Domid, buffers.Input, buffers.Output);
        }
    }

    /// <summary>Client sockets are served again, the deferred reply is sent, and the old daemon is told to go.</summary>
    public void AdoptSockets(UnixSocketListener listener)
    {
        HandoverRecord file = _file ?? throw new InvalidOperationException("nothing was handed over");
        var adopted = new List<SocketConnection>();
        for (int i = 0; i < file.Handover.Connections.Count; i++)
        {
            HandoverConnection carried = file.Handover.Connections[i];
            SocketConnection connection = listener.CreateConnection(new Socket(new SafeSocketHandle(_descriptors[i + 1], ownsHandle: true)));
            connection.StartAdopted(carried.UnparsedInput, carried.UnsentOutput);
            List<WatchRecord> watches = carried.Watches;
            queue.Post(StoreWork.Run(engine =>
            {
                foreach (WatchRecord watch in watches)
                {
                    engine.LiveUpdate.RestoreWatch(connection.Id, watch);
                }
            }));
            adopted.Add(connection);
        }
        queue.Post(StoreWork.Run(_ =>
        {
            if (file.Handover.Reply is { } reply && reply.ConnectionIndex < adopted.Count)
            {
                output.Send(adopted[reply.ConnectionIndex].Id, XsMessageType.Control, reply.ReqId, reply.TxId, XsConstants.Ok);
            }
            Log.LiveUpdateAdopted(logger, adopted.Count);
            // Once this is sent the old daemon is gone: any failure from here on is this daemon's to live with.
            try
            {
                channel.Signal(HandoverChannel.Serving);
            }
            catch (IOException e)
            {
                Log.LiveUpdateNotConfirmed(logger, e);
            }
            channel.Dispose();
        }));
    }

    public void Dispose() => channel.Dispose();
}
