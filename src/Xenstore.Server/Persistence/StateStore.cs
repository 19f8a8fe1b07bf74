using Microsoft.Extensions.Logging;
using Xenstore.Store;

namespace Xenstore.Server.Persistence;

/// <summary>
/// The state directory: <c>snapshot</c> (the whole state as records, ended by END) and <c>journal</c> (every change
/// since, appended once per batch before any reply of that batch is sent). A crash at any moment loses no
/// acknowledged change: recovery loads the snapshot, replays the journal and cuts off a torn or corrupt tail.
/// Each file carries a sequence number; a journal not newer than the snapshot is already contained in it.
/// </summary>
internal sealed class StateStore : IDisposable
{
    private const string SnapshotName = "snapshot";
    private const string JournalName = "journal";

    private readonly string _directory;
    private readonly bool _fsync;
    private readonly ILogger _logger;
    private readonly RecordEncoder _pending = new();
    private FileStream? _journal;
    private ulong _sequence;
    private long _journalBytes;
    private long _snapshotBytes;

    private readonly long _compactionBytes;

    public StateStore(string directory, bool fsync, long compactionBytes, ILogger logger)
    {
        _compactionBytes = compactionBytes;
        _directory = directory;
        _fsync = fsync;
        _logger = logger;
        Directory.CreateDirectory(directory);
    }

    /// <summary>Bytes appended to the journal since start (a metric).</summary>
    public long JournalBytesWritten { get; private set; }

    /// <summary>Loads the snapshot and the journal into a fresh engine, then opens the journal for appending.</summary>
    public void Recover(XenstoreEngine engine)
    {
        ulong snapshotSequence = 0;
        string snapshotPath = Path.Combine(_directory, SnapshotName);
        if (File.Exists(snapshotPath))
        {
            byte[] snapshot = File.ReadAllBytes(snapshotPath);
            if (StateFileFormat.TryReadHeader(snapshot, out snapshotSequence))
            {
                RecordDecoder.Apply(snapshot.AsSpan(StateFileFormat.HeaderSize), engine, out bool complete, out int records);
                if (!complete)
                {
                    Log.StateDamaged(_logger, snapshotPath, "the snapshot is incomplete; the records before the damage were loaded");
                }
                Log.StateLoaded(_logger, snapshotPath, records);
                _snapshotBytes = snapshot.Length;
            }
            else
            {
                Log.StateDamaged(_logger, snapshotPath, "not a state file; ignored");
            }
        }
        string journalPath = Path.Combine(_directory, JournalName);
        _sequence = snapshotSequence + 1;
        if (File.Exists(journalPath))
        {
            byte[] journal = File.ReadAllBytes(journalPath);
            if (StateFileFormat.TryReadHeader(journal, out ulong journalSequence) && journalSequence > snapshotSequence)
            {
                int valid = RecordDecoder.Apply(journal.AsSpan(StateFileFormat.HeaderSize), engine, out _, out int records);
                Log.StateLoaded(_logger, journalPath, records);
                int keep = StateFileFormat.HeaderSize + valid;
                if (keep < journal.Length)
                {
                    Log.StateDamaged(_logger, journalPath, $"cut off {journal.Length - keep} bytes of torn or corrupt tail");
                }
                _sequence = journalSequence;
                _journal = new FileStream(journalPath, FileMode.Open, FileAccess.Write, FileShare.Read);
                _journal.SetLength(keep);
                _journal.Position = keep;
                _journalBytes = keep;
            }
        }
        _journal ??= CreateJournal(_sequence);
        engine.Journal = _pending;
    }

    /// <summary>Appends the batch's records in one write (and fsync when asked); then compacts when it is time.</summary>
    public void Commit(XenstoreEngine engine)
    {
        if (_pending.Count == 0 || _journal is null)
        {
            return;
        }
        ReadOnlySpan<byte> records = _pending.Written.Span;
        _journal.Write(records);
        _journal.Flush(_fsync);
        _journalBytes += records.Length;
        JournalBytesWritten += records.Length;
        _pending.Clear();
        if (_journalBytes > Math.Max(_compactionBytes, 2 * _snapshotBytes))
        {
            Compact(engine);
        }
    }

    /// <summary>Writes a new snapshot (temp file, fsync, rename), then starts an empty journal after it.</summary>
    public void Compact(XenstoreEngine engine)
    {
        var snapshot = new RecordEncoder();
        engine.WriteSnapshot(snapshot);
        snapshot.End();
        string temp = Path.Combine(_directory, SnapshotName + ".tmp");
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            Span<byte> header = stackalloc byte[StateFileFormat.HeaderSize];
            StateFileFormat.WriteHeader(header, _sequence);
            file.Write(header);
            file.Write(snapshot.Written.Span);
            file.Flush(flushToDisk: true);
            _snapshotBytes = file.Length;
        }
        File.Move(temp, Path.Combine(_directory, SnapshotName), overwrite: true);
        _journal?.Dispose();
        _sequence++;
        _journal = CreateJournal(_sequence);
        Log.StateCompacted(_logger, _snapshotBytes);
    }

    private FileStream CreateJournal(ulong sequence)
    {
        string temp = Path.Combine(_directory, JournalName + ".tmp");
        var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.Read);
        Span<byte> header = stackalloc byte[StateFileFormat.HeaderSize];
        StateFileFormat.WriteHeader(header, sequence);
        file.Write(header);
        file.Flush(flushToDisk: true);
        File.Move(temp, Path.Combine(_directory, JournalName), overwrite: true);
        _journalBytes = StateFileFormat.HeaderSize;
        return file;
    }

    public void Dispose() => _journal?.Dispose();
}
