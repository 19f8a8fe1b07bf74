using System.Text;
using Xenstore.Protocol;
using Xenstore.Protocol.Trace;

namespace Xenstore.Cli.Replay;

/// <summary>
/// A replayable trace as read from its file: the replay records in the order the daemon wrote them, each request
/// paired with the reply it got (the next non-event message of its connection: daemons answer in order). C's own
/// lines (<c>io:</c>, <c>obj:</c>, the <c>***</c> of each opening) are skipped.
/// </summary>
internal sealed class RecordedTrace
{
    private RecordedTrace(List<RecordedLine> lines) => Lines = lines;

    public IReadOnlyList<RecordedLine> Lines { get; }

    /// <summary>Reads <paramref name="path"/>; throws <see cref="InvalidDataException"/> saying what is wrong.</summary>
    public static RecordedTrace Read(string path)
    {
        string[] text;
        try
        {
            // Latin-1: C's io lines carry payload bytes as they are.
            text = File.ReadAllLines(path, Encoding.Latin1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"cannot read {path}: {e.Message}");
        }
        var lines = new List<RecordedLine>();
        var unanswered = new Dictionary<int, Queue<RecordedLine>>();
        for (int i = 0; i < text.Length; i++)
        {
            if (!ReplayTraceFormat.TryParse(text[i], out ReplayRecord? record, out string? error))
            {
                if (error is not null)
                {
                    throw new InvalidDataException($"{path}:{i + 1}: damaged replay record: {error}");
                }
                continue;
            }
            var line = new RecordedLine(i + 1, record!);
            lines.Add(line);
            Queue<RecordedLine> waiting = unanswered.TryGetValue(record!.Connection, out Queue<RecordedLine>? q) ? q : unanswered[record.Connection] = new();
            switch (record.Event)
            {
                case ReplayEvent.Open:
                    waiting.Clear();
                    break;
                case ReplayEvent.In:
                    waiting.Enqueue(line);
                    break;
                case ReplayEvent.Out when record.Header.Type != XsMessageType.WatchEvent:
                    if (!waiting.TryDequeue(out RecordedLine? request))
                    {
                        throw new InvalidDataException($"{path}:{i + 1}: a reply on connection {record.Connection} to no recorded request");
                    }
                    request.Reply = line;
                    line.Request = request;
                    break;
            }
        }
        if (lines.Count == 0)
        {
            throw new InvalidDataException($"{path}: no replay records (record them with xenstored -T FILE --trace-control=+replay)");
        }
        return new RecordedTrace(lines);
    }
}

/// <summary>One replay record and its place in the file.</summary>
internal sealed class RecordedLine(int number, ReplayRecord record)
{
    public int Number { get; } = number;

    public ReplayRecord Record { get; } = record;

    /// <summary>For a request: the reply the daemon gave it, when the trace has one.</summary>
    public RecordedLine? Reply { get; set; }

    /// <summary>For a reply: its request.</summary>
    public RecordedLine? Request { get; set; }
}
