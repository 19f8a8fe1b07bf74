using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Server.Persistence;
using Xenstore.TestKit.Engine;

namespace Xenstore.Server.Tests;

/// <summary>
/// A live update's state: the old daemon's store fixes one snapshot and a journal that only grows; the new daemon
/// loads them while the old one goes on writing, then catches up on the journal's tail. Every change arrives, and a
/// journal that was replaced meanwhile is refused rather than half applied.
/// </summary>
public sealed class HandoverStateTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xs-lu-state-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private StateStore Open(out EngineHarness engine)
    {
        engine = new EngineHarness();
        // A small threshold: snapshots would start on their own after a few dozen writes, unless held.
        var state = new StateStore(_directory, fsync: false, compactionBytes: 4096, NullLogger.Instance);
        state.Recover(engine.Engine);
        return state;
    }

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
        for (int i = 0; i < count; i++)
        {
            engine.Dom0.Read($"/data/n{i}").Is("value-" + i);
        }
    }

    [Fact]
    public async Task The_new_daemon_loads_ahead_and_catches_up_on_every_later_change()
    {
        var newEngine = new EngineHarness();
        using (StateStore old = Open(out EngineHarness oldEngine))
        using (var successor = new StateStore(_directory, fsync: false, compactionBytes: 4096, NullLogger.Instance))
        {
            WriteMany(old, oldEngine, 0, 200);
            await old.PrepareHandover(oldEngine.Engine);
            old.FixForHandover(oldEngine.Engine);
            WriteMany(old, oldEngine, 200, 100);
            successor.Preload(newEngine.Engine);
            // Past the threshold many times over: held, no snapshot replaces the journal under the new daemon.
            WriteMany(old, oldEngine, 300, 200);
            old.SettleForHandover(oldEngine.Engine);
            successor.CatchUp(newEngine.Engine);

            AssertHolds(newEngine, 500);
            // The new daemon's journal goes on where the old one's ended.
            WriteMany(successor, newEngine, 500, 10);
        }
        using StateStore restarted = Open(out EngineHarness third);
        AssertHolds(third, 510);
    }

    [Fact]
    public async Task A_journal_replaced_after_the_load_is_refused()
    {
        using StateStore old = Open(out EngineHarness oldEngine);
        WriteMany(old, oldEngine, 0, 50);
        await old.PrepareHandover(oldEngine.Engine);
        old.FixForHandover(oldEngine.Engine);
        var newEngine = new EngineHarness();
        using var successor = new StateStore(_directory, fsync: false, compactionBytes: 4096, NullLogger.Instance);
        successor.Preload(newEngine.Engine);

        // The update gave way and snapshots started again: the journal the new daemon loaded is gone.
        old.EndHandover();
        WriteMany(old, oldEngine, 50, 200);
        await old.PrepareHandover(oldEngine.Engine);
        old.FixForHandover(oldEngine.Engine);

        Assert.Throws<InvalidDataException>(() => successor.CatchUp(newEngine.Engine));
    }
}
