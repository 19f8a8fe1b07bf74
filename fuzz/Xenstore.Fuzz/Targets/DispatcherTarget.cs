using System.Buffers.Binary;
using Xenstore.Protocol;
using Xenstore.Store;
using Xenstore.TestKit.Engine;

namespace Xenstore.Fuzz.Targets;

/// <summary>
/// The whole request dispatcher: the input is a sequence of requests from three connections (two privileged dom0
/// connections and the unprivileged guest domain 5), run through a fresh engine. Each request is encoded as
/// <c>conn|tx</c> (1 byte: low 2 bits pick the connection, the next 3 bits the tx_id), <c>type</c> (1 byte),
/// payload length (u16 LE, cut to 4096 and to what is left) and the payload. After every request: exactly one reply,
/// to the sender, echoing req_id and tx_id, of the request's type or ERROR with a standard errno name; no message
/// over 4096 bytes; watch events well formed; <see cref="XenstoreEngine.CheckConsistency"/> null.
/// </summary>
public sealed class DispatcherTarget : IFuzzTarget
{
    private const int Dom0A = 1;
    private const int Dom0B = 2;
    private const int Guest = 3;
    private const uint GuestDomid = 5;

    private static readonly int[] s_connections = [Dom0A, Dom0B, Guest, Dom0A];

    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        var output = new RecordingOutput();
        var engine = new XenstoreEngine(new EngineOptions(), output);
        uint reqId = 1000;
        engine.OpenConnection(Dom0A, 0, privileged: true);
        engine.OpenConnection(Dom0B, 0, privileged: true);
        // What a toolstack does before a guest connects: a home it can read, a data directory it owns, INTRODUCE.
        Run(engine, output, Dom0A, XsMessageType.Write, 0, "/local/domain/5/name\0guest5"u8, reqId++);
        Run(engine, output, Dom0A, XsMessageType.SetPerms, 0, "/local/domain/5\0n0\0r5\0"u8, reqId++);
        Run(engine, output, Dom0A, XsMessageType.Mkdir, 0, "/local/domain/5/data\0"u8, reqId++);
        Run(engine, output, Dom0A, XsMessageType.SetPerms, 0, "/local/domain/5/data\0n5\0"u8, reqId++);
        Run(engine, output, Dom0A, XsMessageType.Introduce, 0, "5\00\07\0"u8, reqId++);
        engine.OpenConnection(Guest, GuestDomid, privileged: false);

        int position = 0;
        while (input.Length - position >= 4)
        {
            byte selector = input[position];
            byte rawType = input[position + 1];
            int length = BinaryPrimitives.ReadUInt16LittleEndian(input[(position + 2)..]);
            position += 4;
            length = Math.Min(Math.Min(length, XsConstants.PayloadMax), input.Length - position);
            ReadOnlySpan<byte> payload = input.Slice(position, length);
            position += length;

            int connection = s_connections[selector & 3];
            uint txId = (uint)((selector >> 2) & 7);
            var type = (XsMessageType)(rawType < 28 ? rawType : rawType == 0xff ? 0xffffu : rawType);
            Run(engine, output, connection, type, txId, payload, reqId++);
        }
        // Closing connections must leave a consistent store too (transactions and watches dropped).
        foreach (int connection in new[] { Guest, Dom0B, Dom0A })
        {
            engine.CloseConnection(connection);
            Check(engine.CheckConsistency() is null, "inconsistent after closing connection " + connection + ": " + engine.CheckConsistency());
        }
    }

    private static void Run(XenstoreEngine engine, RecordingOutput output, int connection, XsMessageType type, uint txId, ReadOnlySpan<byte> payload, uint reqId)
    {
        bool open = engine.HasConnection(connection);
        output.Messages.Clear();
        engine.Process(connection, new XsHeader(type, reqId, txId, (uint)payload.Length), payload);

        string request = $"{type} (tx {txId}, req {reqId}) on connection {connection}";
        int replies = 0;
        foreach (RecordedMessage message in output.Messages)
        {
            Check(message.Payload.Length <= XsConstants.PayloadMax, $"{message.Type} of {message.Payload.Length} bytes after {request}");
            if (message.Type == XsMessageType.WatchEvent)
            {
                Check(message.ReqId == 0 && message.TxId == 0, "watch event with a req_id or tx_id");
                Check(message.Payload.Length >= 2 && message.Payload[^1] == 0 && PayloadArgs.Count(message.Payload) >= 2,
                    "malformed watch event after " + request);
                continue;
            }
            replies++;
            Check(message.ConnectionId == connection, $"reply to {request} sent to connection {message.ConnectionId}");
            Check(message.ReqId == reqId, $"req_id {message.ReqId} in the reply to {request}");
            Check(message.TxId == txId, $"tx_id {message.TxId} in the reply to {request}");
            if (message.Type == XsMessageType.Error)
            {
                Check(IsStandardErrorName(message.Payload), $"non-standard error payload in the reply to {request}");
            }
            else
            {
                Check(message.Type == type, $"reply of type {message.Type} to {request}");
            }
        }
        Check(replies == (open ? 1 : 0), $"{replies} replies to {request}");
        string? problem = engine.CheckConsistency();
        Check(problem is null, $"inconsistent after {request}: {problem}");
    }

    private static bool IsStandardErrorName(byte[] payload)
    {
        for (XsError error = XsError.EINVAL; error <= XsError.EPERM; error++)
        {
            if (XsErrors.WireName(error).SequenceEqual(payload))
            {
                return true;
            }
        }
        return false;
    }

    private static void Check(bool condition, string message) => FuzzInvariantException.Check(condition, message);
}
