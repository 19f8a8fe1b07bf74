using System.Text;
using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// The hand-over record on the channel: a version, then each field in order (lengths first; strings as
/// <see cref="BinaryWriter"/> writes them). Binary rather than JSON: client bytes travel as they are, and a daemon
/// run by the JIT compiles a few small methods here instead of a serializer while its clients wait.
/// </summary>
internal static class HandoverCodec
{
    /// <summary>Both daemons of an update must agree on the layout; a successor that does not is refused.</summary>
    private const byte Version = 1;

    public static byte[] Encode(HandoverRecord record)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            Handover handover = record.Handover;
            writer.Write(handover.Connections.Count);
            foreach (HandoverConnection connection in handover.Connections)
            {
                WriteBytes(writer, connection.UnparsedInput);
                WriteBytes(writer, connection.UnsentOutput);
                WriteWatches(writer, connection.Watches);
            }
            writer.Write(handover.Rings.Count);
            foreach (HandoverRing ring in handover.Rings)
            {
                writer.Write(ring.Domid);
                WriteWatches(writer, ring.Watches);
            }
            writer.Write(handover.Reply is not null);
            if (handover.Reply is { } reply)
            {
                writer.Write(reply.ConnectionIndex);
                writer.Write(reply.ReqId);
                writer.Write(reply.TxId);
            }
            writer.Write(record.RingBuffers.Count);
            foreach (HandoverRingBuffers buffers in record.RingBuffers)
            {
                writer.Write(buffers.Domid);
                WriteBytes(writer, buffers.Input);
                WriteBytes(writer, buffers.Output);
            }
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a record; throws <see cref="InvalidDataException"/> when it is not one this daemon knows.</summary>
    public static HandoverRecord Decode(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
        try
        {
            byte version = reader.ReadByte();
            if (version != Version)
            {
                throw new InvalidDataException($"a hand-over of version {version} (this daemon reads {Version})");
            }
            var connections = new List<HandoverConnection>();
            for (int i = Count(reader); i > 0; i--)
            {
                connections.Add(new HandoverConnection(ReadBytes(reader), ReadBytes(reader), ReadWatches(reader)));
            }
            var rings = new List<HandoverRing>();
            for (int i = Count(reader); i > 0; i--)
            {
                rings.Add(new HandoverRing(reader.ReadUInt32(), ReadWatches(reader)));
            }
            HandoverReply? reply = reader.ReadBoolean()
                ? new HandoverReply(reader.ReadInt32(), reader.ReadUInt32(), reader.ReadUInt32())
                : null;
            var ringBuffers = new List<HandoverRingBuffers>();
            for (int i = Count(reader); i > 0; i--)
            {
                ringBuffers.Add(new HandoverRingBuffers(reader.ReadUInt32(), ReadBytes(reader), ReadBytes(reader)));
            }
            if (reader.BaseStream.Position != bytes.Length)
            {
                throw new InvalidDataException("bytes after the hand-over record");
            }
            return new HandoverRecord(new Handover(connections, rings, reply), ringBuffers);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException("the hand-over record is cut short");
        }
    }

    private static void WriteBytes(BinaryWriter writer, byte[] bytes)
    {
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteWatches(BinaryWriter writer, List<WatchRecord> watches)
    {
        writer.Write(watches.Count);
        foreach (WatchRecord watch in watches)
        {
            writer.Write(watch.Path);
            writer.Write(watch.Token);
            writer.Write(watch.Relative);
            writer.Write(watch.Depth);
        }
    }

    private static int Count(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > reader.BaseStream.Length - reader.BaseStream.Position)
        {
            throw new InvalidDataException("a count past the end of the hand-over record");
        }
        return count;
    }

    private static byte[] ReadBytes(BinaryReader reader) => reader.ReadBytes(Count(reader));

    private static List<WatchRecord> ReadWatches(BinaryReader reader)
    {
        var watches = new List<WatchRecord>();
        for (int i = Count(reader); i > 0; i--)
        {
            watches.Add(new WatchRecord(reader.ReadString(), reader.ReadString(), reader.ReadBoolean(), reader.ReadInt32()));
        }
        return watches;
    }
}
