using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Protocol;
using Xenstore.Server.Persistence;
using Xenstore.Store;

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
    private uint _reqId;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class NullOutput : IEngineOutput
    {
        public XsMessageType LastType { get; private set; }

        public byte[] LastPayload { get; private set; } = [];

        public void Send(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
        {
            LastType = type;
            LastPayload = payload.ToArray();
        }
    }

    private static (XenstoreEngine Engine, NullOutput Output) NewEngine()
    {
        var output = new NullOutput();
        var engine = new XenstoreEngine(new EngineOptions(), output);
        engine.OpenConnection(1, 0, privileged: true);
        return (engine, output);
    }

    private void Write(XenstoreEngine engine, NullOutput output, string path, string value)
    {
        byte[] payload = Encoding.ASCII.GetBytes(path + "\0" + value);
        engine.Process(1, new XsHeader(XsMessageType.Write, ++_reqId, 0, (uint)payload.Length), payload);
        Assert.Equal(XsMessageType.Write, output.LastType);
    }

    /// <summary>Writes <paramref name="count"/> nodes, committing the journal after each as the store loop does.</summary>
    private void WriteMany(StateStore state, XenstoreEngine engine, NullOutput output, int from, int count)
    {
        for (int i = from; i < from + count; i++)
        {
            Write(engine, output, $"/data/n{i}", "value-" + i);
            state.Append(engine);
        }
    }

    private string Request(XenstoreEngine engine, NullOutput output, XsMessageType type, string path)
    {
        byte[] payload = Encoding.ASCII.GetBytes(path + "\0");
        engine.Process(1, new XsHeader(type, ++_reqId, 0, (uint)payload.Length), payload);
        Assert.Equal(type, output.LastType);
        return Encoding.ASCII.GetString(output.LastPayload);
    }

    private void AssertHolds(XenstoreEngine engine, NullOutput output, int count)
    {
        if (count <= 300)
        {
            // Larger listings do not fit in one reply (E2BIG).
            string[] children = Request(engine, output, XsMessageType.Directory, "/data").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(count, children.Length);
        }
        for (int i = 0; i < count; i++)
        {
            Assert.Equal("value-" + i, Request(engine, output, XsMessageType.Read, $"/data/n{i}"));
        }
    }

    /// <summary>A small threshold by default, so that snapshots start on their own after a few dozen writes.</summary>
    private StateStore OpenState(out XenstoreEngine engine, out NullOutput output, long compactionBytes = 4096)
    {
        (engine, output) = NewEngine();
        var state = new StateStore(_directory, fsync: false, compactionBytes, NullLogger.Instance);
        state.Recover(engine);
        return state;
    }

    private string PathOf(string name) => Path.Combine(_directory, name);

    /// <summary>100 writes, a background snapshot written but not put in place, 100 more writes into journal.next.</summary>
    private void WriteAcrossAHeldSnapshot()
    {
        using StateStore state = OpenState(out XenstoreEngine engine, out NullOutput output, compactionBytes: 1 << 30);
        state.HoldBackgroundSnapshot = true;
        WriteMany(state, engine, output, 0, 100);
        state.StartBackgroundNow(engine).Wait();
        WriteMany(state, engine, output, 100, 100);
        Assert.True(File.Exists(PathOf("journal.next")), "the changes did not go to journal.next");
        Assert.True(File.Exists(PathOf("snapshot.tmp")), "the snapshot was not written");
    }

    [Fact]
    public void StoppedWhileTheSnapshotIsUnfinished_RecoveryReplaysBothJournals()
    {
        WriteAcrossAHeldSnapshot();
        File.Delete(PathOf("snapshot.tmp"));

        using (OpenState(out XenstoreEngine recovered, out NullOutput recoveredOutput))
        {
            AssertHolds(recovered, recoveredOutput, 200);
        }
        Assert.False(File.Exists(PathOf("journal.next")), "the chain was not folded into one snapshot");
        using StateStore again = OpenState(out XenstoreEngine third, out NullOutput thirdOutput);
        AssertHolds(third, thirdOutput, 200);
    }

    [Fact]
    public void StoppedBetweenTheTwoRenames_RecoverySkipsTheContainedJournal()
    {
        WriteAcrossAHeldSnapshot();
        // The snapshot reached its place; the next journal did not: the old journal is contained in the snapshot.
        File.Move(PathOf("snapshot.tmp"), PathOf("snapshot"), overwrite: true);

        using StateStore recoveredState = OpenState(out XenstoreEngine recovered, out NullOutput recoveredOutput);
        AssertHolds(recovered, recoveredOutput, 200);
        // And it goes on journalling normally.
        WriteMany(recoveredState, recovered, recoveredOutput, 200, 50);
        recoveredState.Dispose();
        using StateStore again = OpenState(out XenstoreEngine third, out NullOutput thirdOutput);
        AssertHolds(third, thirdOutput, 250);
    }

    [Fact]
    public async Task ChangesWhileTheSnapshotIsWritten_AreNotInItButInTheNextJournal()
    {
        using (StateStore state = OpenState(out XenstoreEngine engine, out NullOutput output))
        {
            for (int round = 0; round < 20; round++)
            {
                WriteMany(state, engine, output, round * 100, 100);
            }
            // Background snapshots started along the way; the last may still be writing on a busy machine. Once
            // its write is done, the next batch puts it in place.
            if (state.BackgroundWrite is { } writing)
            {
                await writing;
                state.Append(engine);
            }
            Assert.True(File.Exists(PathOf("snapshot")), "no snapshot was put in place");
            AssertHolds(engine, output, 2000);
        }
        using StateStore recoveredState = OpenState(out XenstoreEngine recovered, out NullOutput recoveredOutput);
        AssertHolds(recovered, recoveredOutput, 2000);
    }

    [Fact]
    public void FrozenView_IsUnchangedByLaterWrites()
    {
        (XenstoreEngine engine, NullOutput output) = NewEngine();
        Write(engine, output, "/data/a", "before");
        EngineSnapshot view = engine.BeginSnapshot();
        Write(engine, output, "/data/a", "after");
        Write(engine, output, "/data/b", "new");
        var recorder = new RecordingJournal();
        view.WriteTo(recorder);
        engine.EndSnapshot(view);

        Assert.Equal("before", recorder.Nodes["/data/a"]);
        Assert.False(recorder.Nodes.ContainsKey("/data/b"));
        Assert.Equal("after", Request(engine, output, XsMessageType.Read, "/data/a"));
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
    }
}
