using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Rings;
using Xenstore.Server.Transports.Sockets;
using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// The successor's side of a live update: takes over the listening socket and every client socket with its
/// unparsed input, unsent output and watches, refills the guest rings' buffers and watches, answers the request
/// that asked for the update, and tells the old daemon (the ready file) that it may leave.
/// </summary>
internal sealed class HandoverReceiver(string handoverPath, WorkQueue queue, EngineOutputRouter output, ILogger logger)
{
    private HandoverFile? _file;

    /// <summary>Reads the handover file and returns the inherited listening socket.</summary>
    public Socket Load()
    {
        _file = JsonSerializer.Deserialize(File.ReadAllBytes(handoverPath), HandoverJson.Default.HandoverFile)
            ?? throw new InvalidDataException("empty handover file " + handoverPath);
        return new Socket(new SafeSocketHandle(_file.Handover.ListenDescriptor, ownsHandle: true));
    }

    /// <summary>Guest rings get their watches and buffers back (after the rings' sessions were opened).</summary>
    public void AdoptRings(RingManager rings)
    {
        HandoverFile file = _file ?? throw new InvalidOperationException("the handover file is not loaded");
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
        HandoverFile file = _file ?? throw new InvalidOperationException("the handover file is not loaded");
        var adopted = new List<SocketConnection>();
        foreach (HandoverConnection carried in file.Handover.Connections)
        {
            SocketConnection connection = listener.CreateConnection(new Socket(new SafeSocketHandle(carried.Descriptor, ownsHandle: true)));
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
            File.WriteAllText(handoverPath + ".ready", "");
            File.Delete(handoverPath);
            Log.LiveUpdateAdopted(logger, adopted.Count);
        }));
    }
}
