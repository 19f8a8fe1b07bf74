using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests.Persistence;

/// <summary>
/// The watches and open transactions of ring connections as persistent state: what the journal is told, what a
/// snapshot holds, and what a restarted engine gives the ring's connection back (each watch fires once, a lost
/// transaction's commit answers EAGAIN). Socket connections' watches end with the process and are not recorded.
/// </summary>
public sealed class RingRecoveryTests
{
    private const uint Domid = 5;

    /// <summary>Introduces the domain with a home it owns, as a toolstack does, and opens its ring connection.</summary>
    private static TestConnection RingGuest(EngineHarness harness, uint domid = Domid, ConnectionKind kind = ConnectionKind.Ring)
    {
        string home = XsPath.DomainPath(domid);
        harness.Dom0.Request(XsMessageType.Introduce, EngineHarness.Str(domid), "1", "1").Ok();
        harness.Dom0.Mkdir(home).Ok();
        harness.Dom0.SetPerms(home, $"n{domid}").Ok();
        harness.Dom0.TakeEvents();
        return harness.ConnectRing(domid, kind);
    }

    private static RecordingJournal Journalled(EngineHarness harness)
    {
        var journal = new RecordingJournal();
        harness.Engine.Persistence.Journal = journal;
        return journal;
    }

    /// <summary>A fresh engine restored from a snapshot of <paramref name="original"/>, as a restart would find it.</summary>
    private static EngineHarness Restart(EngineHarness original)
    {
        var restored = new EngineHarness();
        EngineSnapshot snapshot = original.Engine.Persistence.BeginSnapshot();
        snapshot.WriteTo(restored.Engine.Persistence.Restorer);
        original.Engine.Persistence.EndSnapshot(snapshot);
        return restored;
    }

    /// <summary>A guest with three watches (absolute with a depth, relative, special) and two open transactions.</summary>
    private static (TestConnection Guest, uint First, uint Second) GuestWithWatchesAndTransactions(EngineHarness harness)
    {
        TestConnection guest = RingGuest(harness);
        guest.Write("data/a", "1").Ok();
        guest.Request(XsMessageType.Watch, "/local/domain/5/data", "deep", "1").Ok();
        guest.Watch("data", "rel").Ok();
        guest.Watch("@releaseDomain", "special").Ok();
        guest.TakeEvents();
        uint first = guest.Start();
        guest.Write("data/b", "in-transaction", first).Ok();
        uint second = guest.Start();
        return (guest, first, second);
    }

    [Fact]
    public void RingConnection_JournalsItsWatchesAndTransactions_SocketConnectionDoesNot()
    {
        var harness = new EngineHarness();
        RecordingJournal journal = Journalled(harness);
        TestConnection guest = RingGuest(harness);
        guest.Request(XsMessageType.Watch, "data", "t", "2").Ok();
        guest.Watch("/local/domain/5", "u").Ok();
        uint tx = guest.Start();
        guest.Unwatch("data", "t").Ok();
        guest.Commit(tx).Ok();
        uint aborted = guest.Start();
        guest.Abort(aborted).Ok();
        guest.Watch("x", "y").Ok();
        guest.Request(XsMessageType.ResetWatches).Ok();
        harness.Dom0.Watch("/dom0-watch", "d").Ok();
        harness.Dom0.Start();

        Assert.Equal(
        [
            "ring 5 watch /local/domain/5/data t relative 2",
            "ring 5 watch /local/domain/5 u absolute -1",
            $"ring 5 transaction {tx}",
            "ring 5 unwatch /local/domain/5/data t",
            $"ring 5 transaction ended {tx}",
            $"ring 5 transaction {aborted}",
            $"ring 5 transaction ended {aborted}",
            "ring 5 watch /local/domain/5/x y relative -1",
            "ring 5 cleared",
        ], journal.RingRecords);
    }

    [Fact]
    public void ClosingOrReleasing_ClearsWhatWasRecordedForTheRing()
    {
        var harness = new EngineHarness();
        var restored = new EngineHarness();
        // Every record goes straight to a restorer, as recovery would read it back.
        harness.Engine.Persistence.Journal = restored.Engine.Persistence.Restorer;
        TestConnection guest = RingGuest(harness);
        guest.Watch("data", "t").Ok();
        Assert.Single(restored.Engine.Persistence.RecoveredRings);
        harness.Engine.CloseConnection(guest.Id);
        Assert.Empty(restored.Engine.Persistence.RecoveredRings);

        TestConnection again = harness.ConnectRing(Domid);
        again.Watch("data", "t").Ok();
        again.Start();
        Assert.Single(restored.Engine.Persistence.RecoveredRings);
        harness.Dom0.Request(XsMessageType.Release, "5").Ok();
        Assert.Empty(restored.Engine.Persistence.RecoveredRings);
    }

    [Fact]
    public void Snapshot_HoldsTheRingsWatchesInRegistrationOrder_AndTheirOpenTransactions()
    {
        var harness = new EngineHarness();
        (_, uint first, uint second) = GuestWithWatchesAndTransactions(harness);
        harness.Dom0.Watch("/not-a-ring", "d").Ok();

        var journal = new RecordingJournal();
        EngineSnapshot snapshot = harness.Engine.Persistence.BeginSnapshot();
        snapshot.WriteTo(journal);
        harness.Engine.Persistence.EndSnapshot(snapshot);

        Assert.Equal(
        [
            "ring 5 watch /local/domain/5/data deep absolute 1",
            "ring 5 watch /local/domain/5/data rel relative -1",
            "ring 5 watch @releaseDomain special absolute -1",
            $"ring 5 transaction {first}",
            $"ring 5 transaction {second}",
        ], journal.RingRecords);
    }

    [Fact]
    public void ResumedRing_TakesOverItsWatches_EachFiresOnce_ThenAsBefore()
    {
        var original = new EngineHarness();
        GuestWithWatchesAndTransactions(original);
        EngineHarness restored = Restart(original);
        Assert.Equal(Domid, Assert.Single(restored.Engine.Persistence.RecoveredRings).Domid);

        TestConnection guest = restored.ConnectRing(Domid, ConnectionKind.ResumedRing);

        // Fired when the ring's connection opened, in registration order, each in the form it was registered in.
        Assert.Equal(
        [
            new WatchEvent("/local/domain/5/data", "deep"),
            new WatchEvent("data", "rel"),
            new WatchEvent("@releaseDomain", "special"),
        ], guest.TakeEvents());
        Assert.Empty(restored.Engine.Persistence.RecoveredRings);
        Assert.Equal(3, restored.Engine.Statistics.Watches);

        // Then they work as before: the depth still applies, the relative watch reports relative paths.
        guest.Write("data/c", "2").Ok();
        Assert.Equal([new WatchEvent("/local/domain/5/data/c", "deep"), new WatchEvent("data/c", "rel")], guest.TakeEvents());
        guest.Write("data/c/deeper", "3").Ok();
        Assert.Equal([new WatchEvent("data/c/deeper", "rel")], guest.TakeEvents());
        guest.Watch("data", "rel").Fails("EEXIST");
        guest.Unwatch("/local/domain/5/data", "deep").Ok();
        restored.AssertConsistent();
    }

    [Fact]
    public void LostTransaction_CommitAnswersEagain_OtherRequestsEnoent_AndItsIdIsNotReused()
    {
        var original = new EngineHarness();
        (_, uint first, uint second) = GuestWithWatchesAndTransactions(original);
        EngineHarness restored = Restart(original);
        TestConnection guest = restored.ConnectRing(Domid, ConnectionKind.ResumedRing);
        guest.TakeEvents();

        // Nothing of the transaction survived: its write is not in the store.
        guest.Read("data/b").Fails("ENOENT");
        guest.Read("data/a", first).Fails("ENOENT");
        guest.Write("data/b", "again", first).Fails("ENOENT");
        guest.RequestIn(first, XsMessageType.TransactionEnd, "X").Fails("EINVAL");
        // Fresh transactions get ids the guest does not still hold.
        uint fresh = guest.Start();
        Assert.NotEqual(first, fresh);
        Assert.NotEqual(second, fresh);
        guest.Commit(first).Fails("EAGAIN");
        guest.Abort(second).Fails("ENOENT");
        // Ended: from now on these ids are unknown, as any ended transaction's.
        guest.Commit(first).Fails("ENOENT");
        guest.Commit(second).Fails("ENOENT");
        guest.Write("data/b", "retried", fresh).Ok();
        guest.Commit(fresh).Ok();
        guest.Read("data/b").Is("retried");
        Assert.Equal(1, restored.Engine.Statistics.TransactionsConflicted);
    }

    [Fact]
    public void RecoveredState_SurvivesASecondRestart_BeforeAndAfterTheRingIsBack()
    {
        var original = new EngineHarness();
        (_, uint first, uint second) = GuestWithWatchesAndTransactions(original);
        // Down again before the ring is served: the snapshot keeps what was recovered.
        EngineHarness twice = Restart(Restart(original));
        TestConnection guest = twice.ConnectRing(Domid, ConnectionKind.ResumedRing);
        Assert.Equal(3, guest.TakeEvents().Count);
        guest.Commit(first).Fails("EAGAIN");

        // Down again after the ring took over: its lost transaction is still open in the state, and still lost.
        EngineHarness thrice = Restart(twice);
        TestConnection resumed = thrice.ConnectRing(Domid, ConnectionKind.ResumedRing);
        Assert.Equal(3, resumed.TakeEvents().Count);
        resumed.Commit(first).Fails("ENOENT");
        resumed.Commit(second).Fails("EAGAIN");
    }

    [Fact]
    public void JournalReplayedIntoAFreshEngine_GivesTheSameRingState()
    {
        var original = new EngineHarness();
        var restored = new EngineHarness();
        // Every record the original journals goes straight to the restorer, as recovery would read it back.
        original.Engine.Persistence.Journal = restored.Engine.Persistence.Restorer;
        TestConnection guest = RingGuest(original);
        guest.Watch("data", "gone").Ok();
        guest.Watch("data", "kept").Ok();
        guest.Unwatch("data", "gone").Ok();
        uint ended = guest.Start();
        guest.Commit(ended).Ok();
        uint open = guest.Start();

        RingConnectionState state = Assert.Single(restored.Engine.Persistence.RecoveredRings);
        Assert.Equal([new WatchRecord("/local/domain/5/data", "kept", true, -1)], state.Watches);
        Assert.Equal([open], state.OpenTransactions);

        guest.Request(XsMessageType.ResetWatches).Ok();
        Assert.Empty(restored.Engine.Persistence.RecoveredRings);
    }

    [Fact]
    public void WithoutFiring_TheWatchesAreTakenOverSilently()
    {
        var original = new EngineHarness();
        GuestWithWatchesAndTransactions(original);
        EngineHarness restored = Restart(original);
        restored.Engine.Persistence.FireRecoveredWatches = false;
        TestConnection guest = restored.ConnectRing(Domid, ConnectionKind.ResumedRing);
        Assert.Empty(guest.TakeEvents());
        guest.Write("data/z", "").Ok();
        Assert.Equal(2, guest.TakeEvents().Count);
    }

    [Fact]
    public void AFreshRing_StartsWithout_WhatWasRecovered_AndTheJournalSaysSo()
    {
        var original = new EngineHarness();
        (_, uint first, _) = GuestWithWatchesAndTransactions(original);
        EngineHarness restored = Restart(original);
        RecordingJournal journal = Journalled(restored);
        TestConnection guest = restored.ConnectRing(Domid, ConnectionKind.Ring);

        Assert.Empty(guest.TakeEvents());
        Assert.Equal(0, restored.Engine.Statistics.Watches);
        guest.Commit(first).Fails("ENOENT");
        Assert.Equal(["ring 5 cleared"], journal.RingRecords);
        Assert.Empty(restored.Engine.Persistence.RecoveredRings);
    }

    [Fact]
    public void SocketConnection_OfTheSameDomain_DoesNotTakeOverTheRingsState()
    {
        var original = new EngineHarness();
        GuestWithWatchesAndTransactions(original);
        EngineHarness restored = Restart(original);
        TestConnection other = restored.Connect(Domid);
        Assert.Empty(other.TakeEvents());
        Assert.Single(restored.Engine.Persistence.RecoveredRings);
    }

    [Fact]
    public void DomainReleasedBeforeItsRingIsBack_LosesWhatWasRecovered()
    {
        var original = new EngineHarness();
        GuestWithWatchesAndTransactions(original);
        EngineHarness restored = Restart(original);
        restored.Dom0.Request(XsMessageType.Release, "5").Ok();
        Assert.Empty(restored.Engine.Persistence.RecoveredRings);
        TestConnection guest = RingGuest(restored, kind: ConnectionKind.ResumedRing);
        Assert.Empty(guest.TakeEvents());
    }
}
