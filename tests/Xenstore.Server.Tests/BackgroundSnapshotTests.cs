using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Protocol;
using Xenstore.Server.Persistence;
using Xenstore.Store;
using Xenstore.TestKit.Engine;

namespace Xenstore.Server.Tests;

/// <summary>
/// Snapshots are written in the background from a frozen view while the store goes on; changes meanwhile go to
/// <c>journal.next</c>. Whatever moment the daemon stops at (snapshot unfinished, snapshot in place but the next
/// journal not yet renamed, or all done), recovery must give back every change, and the snapshot must hold the
/// state as it was when it was frozen even though the store changed while it was written.
/// </summary>
public sealed class BackgroundSnapshotTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xs-bgsnap-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Writes <paramref name="count"/> nodes, committing the journal after each as the store loop does.</summary>
    private static void WriteMany(StateStore state, EngineHarness engine, int from, int count)
    {
        for (int i = from; i < from + count; i++)
        {
            engine.Dom0.Write($"/data/n{i}", "value-" + i).Ok();
            state.Append(engine.Engine);
        }
    }

    private static void AssertHolds(EngineHarness engine, int count)
    {
        if (count <= 300)
        {
            // Larger listings do not fit in one reply (E2BIG).
            Assert.Equal(count, engine.Dom0.Directory("/data").Strings.Length);
        }
        for (int i = 0; i < count; i++)
        {
            engine.Dom0.Read($"/data/n{i}").Is("value-" + i);
        }
    }

    /// <summary>A small threshold by default, so that snapshots start on their own after a few dozen writes.</summary>
    private StateStore OpenState(out EngineHarness engine, long compactionBytes = 4096)
    {
        engine = new EngineHarness();
        var state = new StateStore(_directory, fsync: false, compactionBytes, NullLogger.Instance);
        state.Recover(engine.Engine);
        return state;
    }

    private string PathOf(string name) => Path.Combine(_directory, name);

    /// <summary>100 writes, a background snapshot written but not put in place, 100 more writes into journal.next.</summary>
    private void WriteAcrossAHeldSnapshot()
    {
        using StateStore state = OpenState(out EngineHarness engine, compactionBytes: 1 << 30);
        state.HoldBackgroundSnapshot = true;
        WriteMany(state, engine, 0, 100);
        state.StartBackgroundNow(engine.Engine).Wait();
        WriteMany(state, engine, 100, 100);
        Assert.True(File.Exists(PathOf("journal.next")), "the changes did not go to journal.next");
        Assert.True(File.Exists(PathOf("snapshot.tmp")), "the snapshot was not written");
    }

    [Fact]
    public void StoppedWhileTheSnapshotIsUnfinished_RecoveryReplaysBothJournals()
    {
        WriteAcrossAHeldSnapshot();
        File.Delete(PathOf("snapshot.tmp"));

        using (OpenState(out EngineHarness recovered))
        {
            AssertHolds(recovered, 200);
        }
        Assert.False(File.Exists(PathOf("journal.next")), "the chain was not folded into one snapshot");
        using StateStore again = OpenState(out EngineHarness third);
        AssertHolds(third, 200);
    }

    [Fact]
    public void StoppedBetweenTheTwoRenames_RecoverySkipsTheContainedJournal()
    {
        WriteAcrossAHeldSnapshot();
        // The snapshot reached its place; the next journal did not: the old journal is contained in the snapshot.
        File.Move(PathOf("snapshot.tmp"), PathOf("snapshot"), overwrite: true);

        using StateStore recoveredState = OpenState(out EngineHarness recovered);
        AssertHolds(recovered, 200);
        // And it goes on journalling normally.
        WriteMany(recoveredState, recovered, 200, 50);
        recoveredState.Dispose();
        using StateStore again = OpenState(out EngineHarness third);
        AssertHolds(third, 250);
    }

    [Fact]
    public async Task ChangesWhileTheSnapshotIsWritten_AreNotInItButInTheNextJournal()
    {
        using (StateStore state = OpenState(out EngineHarness engine))
        {
            for (int round = 0; round < 20; round++)
            {
                WriteMany(state, engine, round * 100, 100);
            }
            // Background snapshots started along the way; the last may still be writing on a busy machine. Once
            // its write is done, the next batch puts it in place.
            if (state.BackgroundWrite is { } writing)
            {
                await writing;
                state.Append(engine.Engine);
            }
            Assert.True(File.Exists(PathOf("snapshot")), "no snapshot was put in place");
            AssertHolds(engine, 2000);
        }
        using StateStore recoveredState = OpenState(out EngineHarness recovered);
        AssertHolds(recovered, 2000);
    }

    [Fact]
    public void FrozenView_IsUnchangedByLaterWrites()
    {
        var engine = new EngineHarness();
        engine.Dom0.Write("/data/a", "before").Ok();
        EngineSnapshot view = engine.Engine.Persistence.BeginSnapshot();
        engine.Dom0.Write("/data/a", "after").Ok();
        engine.Dom0.Write("/data/b", "new").Ok();
        var recorder = new RecordingJournal();
        view.WriteTo(recorder);
        engine.Engine.Persistence.EndSnapshot(view);

        Assert.Equal("before", recorder.Nodes["/data/a"]);
        Assert.False(recorder.Nodes.ContainsKey("/data/b"));
        engine.Dom0.Read("/data/a").Is("after");
    }

    private sealed class RecordingJournal : IStateJournal
    {
        public Dictionary<string, string> Nodes { get; } = [];

        public void NodeWritten(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> perms) =>
            Nodes[path] = Encoding.ASCII.GetString(value);

        public void NodeRemoved(string path) => Nodes.Remove(path);

        public void DomainWritten(DomainRecord domain)
        {
        }

        public void DomainRemoved(uint domid)
        {
        }

        public void GlobalQuotaWritten(Quota quota, long value)
        {
        }

        public void RingWatchAdded(uint domid, WatchRecord watch)
        {
        }

        public void RingWatchRemoved(uint domid, string path, string token)
        {
        }

        public void RingTransactionOpened(uint domid, uint transactionId)
        {
        }

        public void RingTransactionEnded(uint domid, uint transactionId)
        {
        }

        public void RingConnectionCleared(uint domid)
        {
        }
    }
}
