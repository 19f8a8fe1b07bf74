using Microsoft.Extensions.Logging;
using Xenstore.Server.Pipeline;
using Xenstore.Store;

namespace Xenstore.Server.Persistence;

/// <summary>
/// The state directory: <c>snapshot</c> (the whole state as records, ended by END) and <c>journal</c> (every change
/// since, appended once per batch before any reply of that batch is sent). A crash at any moment loses no
/// acknowledged change: recovery loads the snapshot, replays the journal and cuts off a torn or corrupt tail.
/// Each file carries a sequence number; a journal not newer than the snapshot is already contained in it.
/// When the journal grows past its limit a new snapshot is written in the background, from a frozen copy-on-write
/// view of the tree, so the store never stops for it: changes meanwhile go to <c>journal.next</c>, which replaces
/// the journal once the snapshot is in place (recovery replays both, in sequence order, if a crash came between).
/// </summary>
internal sealed class StateStore : IBatchJournal, IDisposable
{
    private const string SnapshotName = "snapshot";
    private const string JournalName = "journal";
    private const string NextJournalName = "journal.next";

    private bool _heldForHandover;
    private (ulong Sequence, int Offset)? _preloaded;

    private readonly string _directory;
    private readonly bool _fsync;
    private readonly ILogger _logger;
    private readonly RecordEncoder _pending = new();
    private FileStream? _journal;
    private ulong _sequence;
    private long _journalBytes;
    private long _snapshotBytes;
    private BackgroundSnapshot? _background;
    private readonly Action? _snapshotWritten;

    private readonly long _compactionBytes;

    /// <summary>A snapshot being written on the thread pool, and the engine's frozen view it is written from.</summary>
    private sealed record BackgroundSnapshot(EngineSnapshot View, Task<long> Written);

    /// <param name="directory">The state directory.</param>
    /// <param name="fsync">Whether every append is made durable before the batch's replies go out.</param>
    /// <param name="compactionBytes">The journal size that starts a background snapshot.</param>
    /// <param name="logger">Where damage and compaction are reported.</param>
    /// <param name="snapshotWritten">
    /// Called from the thread pool when a background snapshot is written: it is put in place by the store thread's
    /// next batch, which the caller makes come (a quiet daemon would otherwise keep the long journal until the next
    /// request).
    /// </param>
    public StateStore(string directory, bool fsync, long compactionBytes, ILogger logger, Action? snapshotWritten = null)
    {
        _snapshotWritten = snapshotWritten;
        _compactionBytes = compactionBytes;
        _directory = directory;
        _fsync = fsync;
        _logger = logger;
    }

    /// <summary>Bytes appended to the journal since start (a metric).</summary>
    public long JournalBytesWritten { get; private set; }

    /// <summary>Loads the snapshot and the journal into a fresh engine, then opens the journal for appending.</summary>
    public void Recover(XenstoreEngine engine)
    {
        // A copy of the whole store: the daemon's alone (an older version created it readable by everyone).
        PrivateFiles.CreateDirectory(_directory);
        ulong snapshotSequence = 0;
        string snapshotPath = Path.Combine(_directory, SnapshotName);
        if (File.Exists(snapshotPath))
        {
            byte[] snapshot = File.ReadAllBytes(snapshotPath);
            if (StateFileFormat.TryReadHeader(snapshot, out snapshotSequence))
            {
                RecordDecoder.Apply(snapshot.AsSpan(StateFileFormat.HeaderSize), engine.Persistence.Restorer, out bool complete, out int records);
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
                ApplyAndContinueJournal(engine, journalPath, journal, StateFileFormat.HeaderSize, journalSequence);
            }
        }
        string nextPath = Path.Combine(_directory, NextJournalName);
        bool interrupted = File.Exists(nextPath);
        if (interrupted)
        {
            // A background snapshot was under way: the changes made meanwhile follow the journal.
            byte[] next = File.ReadAllBytes(nextPath);
            if (StateFileFormat.TryReadHeader(next, out ulong nextSequence) && nextSequence > snapshotSequence)
            {
                RecordDecoder.Apply(next.AsSpan(StateFileFormat.HeaderSize), engine.Persistence.Restorer, out _, out int records);
                Log.StateLoaded(_logger, nextPath, records);
                _sequence = Math.Max(_sequence, nextSequence);
            }
        }
        engine.Persistence.Journal = _pending;
        if (interrupted)
        {
            // Start again from one snapshot and an empty journal, then forget the chain.
            _journal?.Dispose();
            _journal = null;
            Compact(engine);
            File.Delete(nextPath);
            return;
        }
        _journal ??= CreateJournal(_sequence, JournalName);
    }

    /// <summary>
    /// Appends the batch's records in one write (and fsync when asked); finishes a background snapshot that is
    /// done; starts one when the journal has grown enough.
    /// </summary>
    public void Append(XenstoreEngine engine)
    {
        if (_background is { Written.IsCompleted: true } && !HoldBackgroundSnapshot)
        {
            FinishBackground(engine);
        }
        if (!WritePending())
        {
            return;
        }
        if (_background is null && !_heldForHandover && _journalBytes > Math.Max(_compactionBytes, 2 * _snapshotBytes))
        {
            StartBackground(engine);
        }
    }

    /// <summary>Appends the records waiting, in one write; false when there were none.</summary>
    private bool WritePending()
    {
        if (_pending.Count == 0 || _journal is null)
        {
            return false;
        }
        ReadOnlySpan<byte> records = _pending.Written.Span;
        _journal.Write(records);
        _journal.Flush(_fsync);
        _journalBytes += records.Length;
        JournalBytesWritten += records.Length;
        _pending.Clear();
        return true;
    }

    /// <summary>
    /// A live update is coming (its new daemon is starting): a background snapshot starts now, and no other starts
    /// until <see cref="EndHandover"/>, so that once it is in place (<see cref="FixForHandover"/>) the files are one
    /// snapshot the new daemon can load while it stands by and a journal that only grows, which it catches up on at
    /// the hand-over. Returns the snapshot's write, which the update waits for before it pauses the clients.
    /// Store thread.
    /// </summary>
    public Task PrepareHandover(XenstoreEngine engine)
    {
        _heldForHandover = true;
        if (_background is null && _journal is not null)
        {
            StartBackground(engine);
        }
        return _background?.Written ?? Task.CompletedTask;
    }

    /// <summary>
    /// Puts the snapshot <see cref="PrepareHandover"/> started in place once written; throws when it failed (the
    /// files are then a chain the new daemon could not load ahead). Store thread.
    /// </summary>
    public void FixForHandover(XenstoreEngine engine)
    {
        if (_background is not null)
        {
            bool written = _background.Written.IsCompletedSuccessfully;
            FinishBackground(engine);
            if (!written)
            {
                throw new IOException("the snapshot for the new daemon could not be written");
            }
        }
    }

    /// <summary>The live update is over without a hand-over: snapshots start again as the journal grows. Store thread.</summary>
    public void EndHandover() => _heldForHandover = false;

    /// <summary>
    /// A live update's new daemon, standing by: loads the snapshot and the journal as they are (the old daemon
    /// still appends to the journal; a record it is writing is left for <see cref="CatchUp"/>), without writing.
    /// </summary>
    public void Preload(XenstoreEngine engine)
    {
        if (File.Exists(Path.Combine(_directory, NextJournalName)))
        {
            throw new InvalidDataException("a background snapshot is under way in " + _directory);
        }
        string snapshotPath = Path.Combine(_directory, SnapshotName);
        byte[] snapshot = File.ReadAllBytes(snapshotPath);
        if (!StateFileFormat.TryReadHeader(snapshot, out ulong snapshotSequence))
        {
            throw new InvalidDataException("not a state file: " + snapshotPath);
        }
        RecordDecoder.Apply(snapshot.AsSpan(StateFileFormat.HeaderSize), engine.Persistence.Restorer, out bool complete, out int records);
        if (!complete)
        {
            throw new InvalidDataException("the snapshot is incomplete: " + snapshotPath);
        }
        Log.StateLoaded(_logger, snapshotPath, records);
        _snapshotBytes = snapshot.Length;
        byte[] journal = File.ReadAllBytes(Path.Combine(_directory, JournalName));
        if (!StateFileFormat.TryReadHeader(journal, out ulong journalSequence) || journalSequence <= snapshotSequence)
        {
            throw new InvalidDataException("the journal does not follow the snapshot in " + _directory);
        }
        int valid = RecordDecoder.Apply(journal.AsSpan(StateFileFormat.HeaderSize), engine.Persistence.Restorer, out _, out _);
        _preloaded = (journalSequence, StateFileFormat.HeaderSize + valid);
    }

    /// <summary>
    /// The new daemon, handed over: applies what the journal gained since <see cref="Preload"/> (everything, the
    /// old daemon being quiet now), then opens it for appending, as <see cref="Recover"/> ends.
    /// </summary>
    public void CatchUp(XenstoreEngine engine)
    {
        (ulong sequence, int offset) = _preloaded ?? throw new InvalidOperationException("nothing was preloaded");
        string journalPath = Path.Combine(_directory, JournalName);
        byte[] journal = File.ReadAllBytes(journalPath);
        if (!StateFileFormat.TryReadHeader(journal, out ulong journalSequence) || journalSequence != sequence || journal.Length < offset)
        {
            throw new InvalidDataException("the journal changed under the preloaded state in " + _directory);
        }
        ApplyAndContinueJournal(engine, journalPath, journal, offset, journalSequence);
        engine.Persistence.Journal = _pending;
    }

    /// <summary>
    /// Applies the journal's records from <paramref name="offset"/>, cuts off a torn or corrupt tail, and opens the
    /// journal for appending after its last whole record.
    /// </summary>
    private void ApplyAndContinueJournal(XenstoreEngine engine, string journalPath, byte[] journal, int offset, ulong sequence)
    {
        int valid = RecordDecoder.Apply(journal.AsSpan(offset), engine.Persistence.Restorer, out _, out int records);
        Log.StateLoaded(_logger, journalPath, records);
        int keep = offset + valid;
        if (keep < journal.Length)
        {
            Log.StateDamaged(_logger, journalPath, $"cut off {journal.Length - keep} bytes of torn or corrupt tail");
        }
        _sequence = sequence;
        _journal = new FileStream(journalPath, FileMode.Open, FileAccess.Write, FileShare.Read);
        _journal.SetLength(keep);
        _journal.Position = keep;
        _journalBytes = keep;
    }

    /// <summary>
    /// Live update, with the store quiet: puts a background snapshot under way in place and appends the records
    /// of the batch under way, after which the files hold the whole state for the new daemon to load. No snapshot
    /// is written while the clients wait: every earlier batch is in the journal already. Store thread.
    /// </summary>
    public void SettleForHandover(XenstoreEngine engine)
    {
        if (_background is not null)
        {
            _background.Written.Wait();
            FinishBackground(engine);
        }
        WritePending();
    }

    /// <summary>
    /// Writes a new snapshot now (temp file, fsync, rename), then starts an empty journal after it; waits for a
    /// background snapshot first. For recovery that found an interrupted background snapshot.
    /// </summary>
    private void Compact(XenstoreEngine engine)
    {
        if (_background is not null)
        {
            _background.Written.Wait();
            FinishBackground(engine);
        }
        EngineSnapshot view = engine.Persistence.BeginSnapshot();
        try
        {
            _snapshotBytes = WriteSnapshotFile(view, _sequence);
        }
        finally
        {
            engine.Persistence.EndSnapshot(view);
        }
        File.Move(TempSnapshotPath, Path.Combine(_directory, SnapshotName), overwrite: true);
        _journal?.Dispose();
        _sequence++;
        _journal = CreateJournal(_sequence, JournalName);
        Log.StateCompacted(_logger, _snapshotBytes);
    }

    private string TempSnapshotPath => Path.Combine(_directory, SnapshotName + ".tmp");

    /// <summary>Tests: a finished background snapshot is not put in place (as if the daemon stopped first).</summary>
    internal bool HoldBackgroundSnapshot { get; set; }

    /// <summary>Tests: the write of the background snapshot under way, if any.</summary>
    internal Task? BackgroundWrite => _background?.Written;

    /// <summary>Tests: starts a background snapshot now and returns its write.</summary>
    internal Task StartBackgroundNow(XenstoreEngine engine)
    {
        if (_background is not null)
        {
            throw new InvalidOperationException("a background snapshot is already under way");
        }
        StartBackground(engine);
        return _background!.Written;
    }

    /// <summary>
    /// Freezes the state, switches new changes to <c>journal.next</c> and writes the snapshot on the thread
    /// pool. Until it is finished the journal and the old snapshot still hold everything before the switch.
    /// </summary>
    private void StartBackground(XenstoreEngine engine)
    {
        EngineSnapshot view = engine.Persistence.BeginSnapshot();
        ulong snapshotSequence = _sequence;
        _journal!.Dispose();
        _sequence++;
        _journal = CreateJournal(_sequence, NextJournalName);
        Task<long> written = Task.Run(() => WriteSnapshotFile(view, snapshotSequence));
        _background = new BackgroundSnapshot(view, written);
        if (_snapshotWritten is { } notify)
        {
            written.ContinueWith(_ => notify(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Store thread: puts the finished snapshot in place and makes <c>journal.next</c> the journal.</summary>
    private void FinishBackground(XenstoreEngine engine)
    {
        BackgroundSnapshot background = _background!;
        _background = null;
        engine.Persistence.EndSnapshot(background.View);
        if (!background.Written.IsCompletedSuccessfully)
        {
            // The old snapshot and both journals still hold everything; try again when the journal grows.
            Log.StateDamaged(_logger, TempSnapshotPath, "background snapshot failed: " + background.Written.Exception?.GetBaseException().Message);
            return;
        }
        _snapshotBytes = background.Written.Result;
        // Order matters: once the snapshot is in place the old journal is contained in it, and only then may
        // journal.next take its name. A crash between the two leaves a chain recovery replays in order.
        File.Move(TempSnapshotPath, Path.Combine(_directory, SnapshotName), overwrite: true);
        File.Move(Path.Combine(_directory, NextJournalName), Path.Combine(_directory, JournalName), overwrite: true);
        Log.StateCompacted(_logger, _snapshotBytes);
    }

    /// <summary>Writes <c>snapshot.tmp</c> from a frozen view and flushes it to disk; returns its size.</summary>
    private long WriteSnapshotFile(EngineSnapshot view, ulong sequence)
    {
        using var file = new FileStream(TempSnapshotPath, PrivateFiles.Options(FileMode.Create, FileAccess.Write, FileShare.None));
        Span<byte> header = stackalloc byte[StateFileFormat.HeaderSize];
        StateFileFormat.WriteHeader(header, sequence);
        file.Write(header);
        var snapshot = new RecordEncoder(spillTo: file);
        view.WriteTo(snapshot);
        snapshot.End();
        snapshot.Spill();
        file.Flush(flushToDisk: true);
        return file.Length;
    }

    /// <summary>A new journal file with its header on disk; the journal itself is replaced atomically by rename.</summary>
    private FileStream CreateJournal(ulong sequence, string name)
    {
        string temp = Path.Combine(_directory, name + ".tmp");
        var file = new FileStream(temp, PrivateFiles.Options(FileMode.Create, FileAccess.Write));
        Span<byte> header = stackalloc byte[StateFileFormat.HeaderSize];
        StateFileFormat.WriteHeader(header, sequence);
        file.Write(header);
        file.Flush(flushToDisk: true);
        File.Move(temp, Path.Combine(_directory, name), overwrite: true);
        _journalBytes = StateFileFormat.HeaderSize;
        return file;
    }

    public void Dispose()
    {
        // A snapshot still being written is simply abandoned: the files on disk are complete without it.
        _background?.Written.Wait(TimeSpan.FromSeconds(30));
        _journal?.Dispose();
    }
}
