using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Protocol;
using Xenstore.Server;

namespace Xenstore.Fuzz.Targets;

/// <summary>
/// The server as a socket client meets it: the input's bytes after the first go into a fresh embedded server's
/// in-memory connection, as they are (split frames, lying lengths, garbage), in pieces whose size the first byte
/// picks. They go through the real framing, store thread, batching and publishing. Invariants: every complete
/// frame gets exactly one reply, in order, with its req_id and tx_id; an oversized frame ends the connection at once
/// (as C xenstored does, replies not yet sent to the requests before it are dropped: only a prefix of them may
/// arrive); no message is over 4096 bytes; another connection still gets answers and finds the store consistent
/// (CONTROL check) afterwards.
/// </summary>
public sealed class ServerTarget : IFuzzTarget
{
    private static readonly TimeSpan s_replyTimeout = TimeSpan.FromSeconds(10);

    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        int piece = 1 + (input[0] % 64) * 8;
        byte[] bytes = input[1..].ToArray();
        List<XsHeader> expected = CompleteFrames(bytes, out bool oversized);
        var server = new XenstoreServer(new ServerOptions(), NullLoggerFactory.Instance);
        try
        {
            server.StartAsync().GetAwaiter().GetResult();
            Stream client = server.ConnectInMemory();
            for (int offset = 0; offset < bytes.Length; offset += piece)
            {
                try
                {
                    client.Write(bytes, offset, Math.Min(piece, bytes.Length - offset));
                }
                catch (IOException)
                {
                    Check(oversized, "the connection closed on input without an oversized frame");
                    break;
                }
            }
            var reader = new MessageReader(client, s_replyTimeout);
            foreach (XsHeader request in expected)
            {
                if (reader.NextReply() is not ({ } reply, { } payload))
                {
                    Check(oversized && reader.Ended, $"no reply to {request.Type} (req {request.ReqId})");
                    break;
                }
                Check(reply.ReqId == request.ReqId && reply.TxId == request.TxId,
                    $"reply {reply.Type} (req {reply.ReqId}, tx {reply.TxId}) to {request.Type} (req {request.ReqId}, tx {request.TxId})");
                Check(reply.Type == request.Type || reply.Type == XsMessageType.Error, $"{reply.Type} answers {request.Type}");
                Check(payload.Length <= XsConstants.PayloadMax, $"a reply of {payload.Length} bytes");
            }
            if (oversized)
            {
                Check(reader.NextReply() is null && reader.Ended, "the connection stayed open after an oversized frame");
            }
            else
            {
                Check(!reader.Ended, "the connection ended without an oversized frame");
            }
            client.Dispose();
            using Stream other = server.ConnectInMemory();
            byte[] check = new byte[XsConstants.HeaderSize + "check\0".Length];
            FrameParser.Write(check, XsMessageType.Control, 1, 0, "check\0"u8);
            other.Write(check);
            (XsHeader _, byte[] answer) = new MessageReader(other, s_replyTimeout).NextReply()
                ?? throw new FuzzInvariantException("no answer on a second connection");
            Check(answer.AsSpan().SequenceEqual("OK\0"u8), "the store is inconsistent: " + System.Text.Encoding.Latin1.GetString(answer));
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>The frames the server will execute: every complete one up to the first oversized one.</summary>
    private static List<XsHeader> CompleteFrames(ReadOnlySpan<byte> bytes, out bool oversized)
    {
        var frames = new List<XsHeader>();
        oversized = false;
        while (true)
        {
            FrameStatus status = FrameParser.TryParse(bytes, out XsHeader header, out int length);
            if (status == FrameStatus.TooLarge)
            {
                oversized = true;
                return frames;
            }
            if (status != FrameStatus.Complete)
            {
                return frames;
            }
            frames.Add(header);
            bytes = bytes[length..];
        }
    }

    private static void Check(bool condition, string message) => FuzzInvariantException.Check(condition, message);

    /// <summary>Splits what the server sends into messages; watch events are skipped.</summary>
    private sealed class MessageReader(Stream stream, TimeSpan timeout)
    {
        private byte[] _buffer = new byte[2 * (XsConstants.HeaderSize + XsConstants.PayloadMax)];
        private int _filled;

        public bool Ended { get; private set; }

        public (XsHeader Header, byte[] Payload)? NextReply()
        {
            while (true)
            {
                FrameStatus status = FrameParser.TryParse(_buffer.AsSpan(0, _filled), out XsHeader header, out int length);
                Check(status != FrameStatus.TooLarge, $"the server sent a {header.Type} of {header.Length} bytes");
                if (status == FrameStatus.Complete)
                {
                    byte[] payload = _buffer.AsSpan(XsConstants.HeaderSize, length - XsConstants.HeaderSize).ToArray();
                    Buffer.BlockCopy(_buffer, length, _buffer, 0, _filled - length);
                    _filled -= length;
                    if (header.Type == XsMessageType.WatchEvent)
                    {
                        continue;
                    }
                    return (header, payload);
                }
                if (_filled == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }
                using var cancel = new CancellationTokenSource(timeout);
                int read;
                try
                {
                    read = stream.ReadAsync(_buffer.AsMemory(_filled), cancel.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
                if (read == 0)
                {
                    Ended = true;
                    return null;
                }
                _filled += read;
            }
        }
    }
}
