using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Protocol.Trace;

namespace Xenstore.Cli.Replay;

/// <summary>
/// Re-issues a recorded trace against a daemon and reports every answer that differs. The records are walked in
/// the order the daemon wrote them: a connection opens, sends and closes where its record stands, and at each
/// recorded reply the replay waits for the same request's answer before going on. So whatever one connection saw
/// before another's request arrived, the replayed daemon has seen too, and within a connection requests keep
/// their order. Requests also keep their recorded spacing, divided by the speed (none at speed 0).
/// A transaction id is the one the replayed daemon gave for the recorded one, and so is a DIRECTORY_PART
/// generation (a counter of each daemon's own history). A connection's watch events are
/// compared when it closes, and at the end, after a round trip that every event queued before it precedes.
/// A guest's ring connection is replayed over a socket, so as dom0: its answers may differ where permissions matter.
/// </summary>
internal sealed class Replayer(string socketPath, double speed, TimeSpan timeout, Action<string> report)
{
    private readonly Dictionary<int, Replayed> _connections = [];
    private readonly Dictionary<RecordedLine, Task<Message?>> _sent = [];

    public int Requests { get; private set; }

    public int Connections { get; private set; }

    public int Differences { get; private set; }

    public async Task RunAsync(RecordedTrace trace)
    {
        long start = Stopwatch.GetTimestamp();
        long first = trace.Lines[0].Record.Microseconds;
        foreach (RecordedLine line in trace.Lines)
        {
            ReplayRecord record = line.Record;
            switch (record.Event)
            {
                case ReplayEvent.Open:
                    if (_connections.Remove(record.Connection, out Replayed? stale))
                    {
                        await CloseAsync(stale).ConfigureAwait(false);
                    }
                    await OpenAsync(record.Connection, record.Ring, record.Domid).ConfigureAwait(false);
                    break;
                case ReplayEvent.In:
                    await PaceAsync(start, record.Microseconds - first).ConfigureAwait(false);
                    Send(line, await ConnectionAsync(record.Connection).ConfigureAwait(false));
                    break;
                case ReplayEvent.Out when record.Header.Type == XsMessageType.WatchEvent:
                    (await ConnectionAsync(record.Connection).ConfigureAwait(false)).ExpectedEvents.Add(record.Payload);
                    break;
                case ReplayEvent.Out:
                    await AnswerAsync(line, await ConnectionAsync(record.Connection).ConfigureAwait(false)).ConfigureAwait(false);
                    break;
                case ReplayEvent.Close:
                    if (_connections.Remove(record.Connection, out Replayed? closing))
                    {
                        await CloseAsync(closing).ConfigureAwait(false);
                    }
                    break;
            }
        }
        foreach (Replayed open in _connections.Values.OrderBy(c => c.Id))
        {
            await CloseAsync(open).ConfigureAwait(false);
        }
        _connections.Clear();
    }

    private async Task PaceAsync(long start, long recordedMicroseconds)
    {
        if (speed <= 0)
        {
            return;
        }
        TimeSpan due = TimeSpan.FromMicroseconds(recordedMicroseconds / speed) - Stopwatch.GetElapsedTime(start);
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due).ConfigureAwait(false);
        }
    }

    private async Task<Replayed> OpenAsync(int id, bool ring, uint domid)
    {
        ReplayConnection socket = await ReplayConnection.ConnectAsync(socketPath).ConfigureAwait(false);
        var replayed = new Replayed(id, ring, domid, socket);
        _connections[id] = replayed;
        Connections++;
        return replayed;
    }

    /// <summary>A connection whose opening is not in the file (a trace rotated while it was open): a dom0 socket.</summary>
    private async Task<Replayed> ConnectionAsync(int id) =>
        _connections.TryGetValue(id, out Replayed? replayed) ? replayed : await OpenAsync(id, false, 0).ConfigureAwait(false);

    private void Send(RecordedLine line, Replayed connection)
    {
        XsHeader header = line.Record.Header;
        uint txId = connection.Transactions.TryGetValue(header.TxId, out uint mapped) ? mapped : header.TxId;
        Requests++;
        _sent[line] = connection.Socket.Send(header with { TxId = txId }, line.Record.Payload);
        connection.Sent.Add(line);
    }

    private async Task AnswerAsync(RecordedLine recorded, Replayed connection)
    {
        RecordedLine request = recorded.Request!;
        if (!_sent.Remove(request, out Task<Message?>? pending))
        {
            return;
        }
        connection.Sent.Remove(request);
        Message? actual = await WaitAsync(pending).ConfigureAwait(false);
        XsHeader expected = recorded.Record.Header;
        if (actual is null)
        {
            Report(connection, request, Render(expected, recorded.Record.Payload), pending.IsCompleted ? "the connection closed" : "no answer");
            return;
        }
        if (expected.Type == XsMessageType.TransactionStart && actual.Header.Type == XsMessageType.TransactionStart
            && TransactionId(recorded.Record.Payload) is uint was && TransactionId(actual.Payload) is uint now)
        {
            connection.Transactions[was] = now;
            return;
        }
        if (expected.Type == XsMessageType.DirectoryPart && actual.Header.Type == XsMessageType.DirectoryPart
            && SameGeneration(connection, recorded.Record.Payload, actual.Payload))
        {
            return;
        }
        uint expectedTx = connection.Transactions.TryGetValue(expected.TxId, out uint mapped) ? mapped : expected.TxId;
        if (expected.Type != actual.Header.Type || !Comparable(request, recorded.Record.Payload).AsSpan().SequenceEqual(Comparable(request, actual.Payload))
            || expected.ReqId != actual.Header.ReqId || expectedTx != actual.Header.TxId)
        {
            string ids = expected.ReqId != actual.Header.ReqId || expectedTx != actual.Header.TxId
                ? string.Create(CultureInfo.InvariantCulture, $" (req_id {actual.Header.ReqId} for {expected.ReqId}, tx_id {actual.Header.TxId} for {expectedTx})")
                : "";
            Report(connection, request, Render(expected, recorded.Record.Payload), Render(actual.Header, actual.Payload) + ids);
        }
    }

    /// <summary>
    /// An answer as compared: the switch list of <c>CONTROL log</c> without the line of <c>replay</c>, which was on
    /// in the daemon that recorded (that is how the trace exists) and need not be in the one replayed.
    /// </summary>
    private static byte[] Comparable(RecordedLine request, byte[] answer)
    {
        if (request.Record.Header.Type != XsMessageType.Control || !request.Record.Payload.AsSpan().SequenceEqual("log\0"u8))
        {
            return answer;
        }
        string text = Encoding.Latin1.GetString(answer);
        return Encoding.Latin1.GetBytes(string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("replay ", StringComparison.Ordinal))));
    }

    private async Task<Message?> WaitAsync(Task<Message?> reply)
    {
        try
        {
            return await reply.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// Ends a replayed connection: one round trip first (GET_DOMAIN_PATH of dom0, harmless on every daemon) so every
    /// event queued for it has arrived, then its events compared and answers recorded as never given reported.
    /// </summary>
    private async Task CloseAsync(Replayed connection)
    {
        if (!connection.Socket.Closed)
        {
            await WaitAsync(connection.Socket.Send(new XsHeader(XsMessageType.GetDomainPath, 0, 0, 0), "0\0"u8.ToArray())).ConfigureAwait(false);
        }
        foreach (RecordedLine unanswered in connection.Sent)
        {
            _sent.Remove(unanswered, out Task<Message?>? pending);
            if (pending is { IsCompletedSuccessfully: true, Result: { } answer })
            {
                Report(connection, unanswered, "no answer", Render(answer.Header, answer.Payload));
            }
        }
        CompareEvents(connection, connection.Socket.TakeEvents());
        await connection.Socket.DisposeAsync().ConfigureAwait(false);
    }

    private void CompareEvents(Replayed connection, List<Message> received)
    {
        List<byte[]> expected = connection.ExpectedEvents;
        List<byte[]> actual = [.. received.Select(m => m.Payload)];
        if (expected.Count == actual.Count && expected.Zip(actual).All(p => p.First.AsSpan().SequenceEqual(p.Second)))
        {
            return;
        }
        var missing = new List<byte[]>(expected);
        var unexpected = new List<byte[]>();
        foreach (byte[] e in actual)
        {
            int index = missing.FindIndex(m => m.AsSpan().SequenceEqual(e));
            if (index >= 0)
            {
                missing.RemoveAt(index);
            }
            else
            {
                unexpected.Add(e);
            }
        }
        string where = Describe(connection);
        if (missing.Count == 0 && unexpected.Count == 0)
        {
            Differences++;
            report($"{where}: watch events in another order\n  recorded: {string.Join(' ', expected.Select(Quote))}\n  replayed: {string.Join(' ', actual.Select(Quote))}\n");
            return;
        }
        foreach (byte[] m in missing)
        {
            Differences++;
            report($"{where}: watch event not replayed: WATCH_EVENT {Quote(m)}\n");
        }
        foreach (byte[] u in unexpected)
        {
            Differences++;
            report($"{where}: watch event not recorded: WATCH_EVENT {Quote(u)}\n");
        }
    }

    private void Report(Replayed connection, RecordedLine request, string recorded, string replayed)
    {
        Differences++;
        report($"{Describe(connection)}, line {request.Number}: {Render(request.Record.Header, request.Record.Payload)}\n" +
            $"  recorded: {recorded}\n  replayed: {replayed}\n");
    }

    private static string Describe(Replayed c) => c.Ring
        ? string.Create(CultureInfo.InvariantCulture, $"connection {c.Id} (domain {c.Domid}'s ring, replayed as a dom0 socket)")
        : string.Create(CultureInfo.InvariantCulture, $"connection {c.Id} (socket d{c.Domid})");

    private static string Render(XsHeader header, byte[] payload) => ReplayTraceFormat.TypeName(header.Type) + " " + Quote(payload);

    private static string Quote(byte[] payload)
    {
        var text = new StringBuilder(payload.Length + 2);
        ReplayTraceFormat.Quote(text, payload);
        return text.ToString();
    }

    /// <summary>
    /// Whether two DIRECTORY_PART answers are the same but for the generation, a counter of each daemon's own
    /// history: the recorded one must stand for the same replayed one throughout the connection, as a
    /// transaction id does, so a listing that changed under the client is still seen to change.
    /// </summary>
    private static bool SameGeneration(Replayed connection, byte[] recorded, byte[] actual)
    {
        int was = Array.IndexOf(recorded, (byte)0);
        int now = Array.IndexOf(actual, (byte)0);
        if (was < 0 || now < 0 || !recorded.AsSpan(was).SequenceEqual(actual.AsSpan(now)))
        {
            return false;
        }
        string wasGeneration = Encoding.Latin1.GetString(recorded, 0, was);
        string nowGeneration = Encoding.Latin1.GetString(actual, 0, now);
        if (connection.Generations.TryGetValue(wasGeneration, out string? mapped))
        {
            return mapped == nowGeneration;
        }
        if (connection.Generations.ContainsValue(nowGeneration))
        {
            return false;
        }
        connection.Generations[wasGeneration] = nowGeneration;
        return true;
    }

    private static uint? TransactionId(byte[] payload)
    {
        ReadOnlySpan<byte> text = payload.AsSpan();
        if (text.Length > 0 && text[^1] == 0)
        {
            text = text[..^1];
        }
        return PayloadArgs.TryParseUInt32(text, out uint id) ? id : null;
    }

    private sealed class Replayed(int id, bool ring, uint domid, ReplayConnection socket)
    {
        public int Id { get; } = id;

        public bool Ring { get; } = ring;

        public uint Domid { get; } = domid;

        public ReplayConnection Socket { get; } = socket;

        /// <summary>Recorded transaction id to the replayed daemon's.</summary>
        public Dictionary<uint, uint> Transactions { get; } = [];

        /// <summary>Recorded DIRECTORY_PART generation to the replayed daemon's.</summary>
        public Dictionary<string, string> Generations { get; } = [];

        public List<byte[]> ExpectedEvents { get; } = [];

        /// <summary>Requests sent whose recorded answer has not been reached yet.</summary>
        public List<RecordedLine> Sent { get; } = [];
    }
}
