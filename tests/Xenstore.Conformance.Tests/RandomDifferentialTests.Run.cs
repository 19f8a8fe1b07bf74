using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>One sequence on one daemon, rendered as transcript lines.</summary>
public sealed partial class RandomDifferentialTests
{
    /// <summary>What one step produced on one daemon: its transcript lines and the reply (null when closed).</summary>
    private sealed record StepResult(IReadOnlyList<string> Lines, RawMessage? Reply);

    /// <summary>
    /// One sequence on one daemon: its connections (A, B, C), the ids the daemon gave each transaction handle, and the
    /// rendering of each step as transcript lines in which what legitimately differs between daemons is normalised.
    /// </summary>
    private sealed class SequenceRun : IAsyncDisposable
    {
        /// <summary>An id no daemon hands out this early (both count up from small numbers).</summary>
        private const uint UnknownTransactionId = 0x7fffff00;

        private readonly RawConnection[] _connections;
        private readonly bool[] _closed;
        private readonly bool[] _watching;
        private readonly Dictionary<int, uint> _transactionIds = [];
        private readonly Dictionary<uint, string> _transactionLabels = [];
        private readonly string _prefix;
        private readonly byte[] _placeholder = Encoding.Latin1.GetBytes(RandomRequestSequence.PrefixPlaceholder);
        private readonly byte[] _prefixBytes;

        private SequenceRun(RawConnection[] connections, string prefix)
        {
            _connections = connections;
            _closed = new bool[connections.Length];
            _watching = new bool[connections.Length];
            _prefix = prefix;
            _prefixBytes = Encoding.Latin1.GetBytes(prefix);
        }

        public static async Task<SequenceRun> OpenAsync(IDaemonUnderTest daemon, int connections, string prefix)
        {
            var opened = new RawConnection[connections];
            for (int i = 0; i < connections; i++)
            {
                opened[i] = await RawConnection.ConnectAsync(daemon);
            }
            return new SequenceRun(opened, prefix);
        }

        public async Task<StepResult> ExecuteAsync(RandomStep step)
        {
            var lines = new List<string>();
            int index = step.Connection;
            string name = ConnectionName(index);
            uint txId = TransactionId(step.Transaction);
            lines.Add($"{name}> {step.Type}{RequestLabel(step.Transaction)} {TranscriptText.Quote(step.Payload).Replace(RandomRequestSequence.PrefixPlaceholder, "$P", StringComparison.Ordinal)}");
            RawMessage? reply = null;
            if (!_closed[index])
            {
                RawConnection connection = _connections[index];
                try
                {
                    uint reqId = await connection.SendRequestAsync(step.Type, Expand(step.Payload), txId);
                    reply = await connection.NextReplyAsync();
                    AddEvents(index, reply.Sequence, lines);
                    if (step.StartsTransaction > 0 && reply.Type == XsMessageType.TransactionStart)
                    {
                        RecordTransaction(step.StartsTransaction, reply);
                    }
                    lines.Add($"{name}< {RenderReply(reply, step.Type, reqId, txId)}");
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    _closed[index] = true;
                    AddEvents(index, long.MaxValue, lines);
                    lines.Add($"{name}< closed");
                }
            }
            else
            {
                lines.Add($"{name}< closed");
            }
            if (step.Type == XsMessageType.Watch && reply is { IsOk: true })
            {
                _watching[index] = true;
            }
            await CollectEventsAsync(lines);
            return new StepResult(lines, reply);
        }

        /// <summary>Removes what the sequence wrote (not part of any transcript).</summary>
        public async Task RemoveSubtreesAsync()
        {
            int open = Array.IndexOf(_closed, false);
            if (open < 0)
            {
                return;
            }
            foreach (string subtree in new[] { RandomRequestSequence.AbsoluteBase, RandomRequestSequence.RelativeBaseAbsolute })
            {
                await _connections[open].RequestAsync(XsMessageType.Rm, Expand(RawPayload.Strings(subtree)));
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (RawConnection connection in _connections)
            {
                await connection.DisposeAsync();
            }
        }

        /// <summary>
        /// Every event that reached a watching connection because of the step (including the event a WATCH sends after
        /// its reply): a round trip on each makes sure they have all arrived. Without it, C would also drop an event
        /// identical to one still waiting in that connection's queue, which would depend on timing.
        /// </summary>
        private async Task CollectEventsAsync(List<string> lines)
        {
            for (int i = 0; i < _connections.Length; i++)
            {
                if (!_watching[i] || _closed[i])
                {
                    continue;
                }
                try
                {
                    RawMessage sync = await _connections[i].RequestAsync(XsMessageType.Read, RawPayload.Strings("/"));
                    AddEvents(i, sync.Sequence, lines);
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    _closed[i] = true;
                    AddEvents(i, long.MaxValue, lines);
                    lines.Add($"{ConnectionName(i)}< closed");
                }
            }
        }

        private void AddEvents(int index, long before, List<string> lines)
        {
            EventQueue.TakeBefore(_connections[index], before, e =>
                lines.Add($"{ConnectionName(index)}< EVENT {Normalise(TranscriptText.Quote(e.Payload))}{HeaderNote(e)}"));
        }

        private static string HeaderNote(RawMessage e) => e.ReqId != 0 || e.TxId != 0 ? $" (req_id {e.ReqId}, tx_id {e.TxId})" : "";

        private void RecordTransaction(int handle, RawMessage reply)
        {
            if (reply.Payload.Length > 1 && reply.Payload[^1] == 0
                && uint.TryParse(reply.Text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
            {
                _transactionIds[handle] = id;
                _transactionLabels[id] = "T" + handle.ToString(CultureInfo.InvariantCulture);
            }
        }

        private uint TransactionId(int handle) => handle switch
        {
            RandomStep.NoTransaction => 0,
            RandomStep.UnknownTransaction => UnknownTransactionId,
            _ => _transactionIds.GetValueOrDefault(handle, UnknownTransactionId),
        };

        private static string RequestLabel(int handle) => handle switch
        {
            RandomStep.NoTransaction => "",
            RandomStep.UnknownTransaction => "[T?]",
            _ => $"[T{handle}]",
        };

        private string TransactionLabel(uint id) =>
            id == 0 ? "0" : _transactionLabels.GetValueOrDefault(id, id == UnknownTransactionId ? "T?" : "unknown id");

        /// <summary>
        /// A reply as the transcript shows it. Normalised: a new transaction's id (each daemon numbers its own) is shown
        /// as its handle; DIRECTORY_PART's generation (a counter of its own in each daemon: docs/COMPATIBILITY.md, Engine
        /// rules, "DIRECTORY_PART generation") is shown as <c>&lt;gen&gt;</c> when it is a decimal number.
        /// </summary>
        private string RenderReply(RawMessage reply, XsMessageType requestType, uint reqId, uint txId)
        {
            string text = reply.Type switch
            {
                XsMessageType.Error => "ERROR " + TranscriptText.Quote(reply.Payload),
                _ when reply.Type != requestType => $"{reply.Type} {Normalise(TranscriptText.Quote(reply.Payload))}",
                _ when reply.IsOk => "OK",
                XsMessageType.TransactionStart => _transactionLabels.TryGetValue(ParsedId(reply), out string? label) ? "started " + label : TranscriptText.Quote(reply.Payload),
                XsMessageType.DirectoryPart => RenderDirectoryPart(reply.Payload),
                _ => Normalise(TranscriptText.Quote(reply.Payload)),
            };
            if (reply.ReqId != reqId)
            {
                text += $" (req_id {reply.ReqId} for {reqId})";
            }
            if (reply.TxId != txId)
            {
                text += $" (tx_id {TransactionLabel(reply.TxId)} for {TransactionLabel(txId)})";
            }
            return text;
        }

        private static uint ParsedId(RawMessage reply) =>
            uint.TryParse(reply.Text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) ? id : 0;

        private string RenderDirectoryPart(byte[] payload)
        {
            int nul = Array.IndexOf(payload, (byte)0);
            if (nul <= 0 || payload.AsSpan(0, nul).ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return Normalise(TranscriptText.Quote(payload));
            }
            return "<gen>" + Normalise(TranscriptText.Quote(payload.AsSpan(nul)));
        }

        private string Normalise(string rendered) => rendered.Replace(_prefix, "$P", StringComparison.Ordinal);

        private byte[] Expand(byte[] payload)
        {
            byte[] result = (byte[])payload.Clone();
            int start = 0;
            while (true)
            {
                int at = result.AsSpan(start).IndexOf(_placeholder);
                if (at < 0)
                {
                    return result;
                }
                _prefixBytes.CopyTo(result, start + at);
                start += at + _placeholder.Length;
            }
        }

        private static string ConnectionName(int index) => ((char)('A' + index)).ToString();
    }

    /// <summary>Takes a connection's queued watch events that arrived before a given message.</summary>
    private static class EventQueue
    {
        public static void TakeBefore(RawConnection connection, long before, Action<RawMessage> take)
        {
            while (connection.Events.TryPeek(out RawMessage? e) && e.Sequence < before)
            {
                connection.Events.TryRead(out _);
                take(e);
            }
        }
    }

    /// <summary>Quoting for the random transcripts: as <see cref="Transcript.Quote"/>, with long runs of one byte shortened.</summary>
    private static class TranscriptText
    {
        /// <summary>Runs this long or longer are shown as <c>c{n}</c> (long names and fillers would fill a screen).</summary>
        private const int ShortenedRun = 12;

        public static string Quote(ReadOnlySpan<byte> bytes)
        {
            var text = new StringBuilder(bytes.Length + 2);
            text.Append('"');
            int i = 0;
            while (i < bytes.Length)
            {
                byte b = bytes[i];
                int run = 1;
                while (i + run < bytes.Length && bytes[i + run] == b)
                {
                    run++;
                }
                if (run >= ShortenedRun)
                {
                    AppendByte(text, b);
                    text.Append(CultureInfo.InvariantCulture, $"{{{run}}}");
                    i += run;
                    continue;
                }
                AppendByte(text, b);
                i++;
            }
            text.Append('"');
            return text.ToString();
        }

        private static void AppendByte(StringBuilder text, byte b)
        {
            switch (b)
            {
                case 0: text.Append("\\0"); break;
                case (byte)'"': text.Append("\\\""); break;
                case (byte)'\\': text.Append("\\\\"); break;
                case (byte)'{': text.Append("\\x7b"); break;
                case < 0x20 or > 0x7e: text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}"); break;
                default: text.Append((char)b); break;
            }
        }
    }
}
