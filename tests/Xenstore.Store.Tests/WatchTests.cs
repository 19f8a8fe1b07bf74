using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>Watch registration and which modifications fire which watches (reference §4).</summary>
public sealed class WatchTests
{
    private readonly EngineHarness _h = new();

    private TestConnection Dom0 => _h.Dom0;

    [Fact]
    public void Watch_RepliesOkThenInitialEvent_EvenForMissingNode()
    {
        Reply r = Dom0.Watch("/missing", "tok").Ok();
        Assert.Empty(r.EventsBefore);
        Assert.Equal([new WatchEvent("/missing", "tok")], r.EventsAfter);
    }

    [Fact]
    public void Watch_InitialEventKeepsRelativePath_EmptyTokenAllowed()
    {
        Reply r = Dom0.Watch("relw", "").Ok();
        Assert.Equal([new WatchEvent("relw", "")], r.EventsAfter);
    }

    [Fact]
    public void Watch_DuplicatePathAndToken_Eexist_OtherTokenIsAnotherWatch()
    {
        Dom0.Watch("/w", "a").Ok();
        Dom0.Watch("/w", "a").Fails("EEXIST");
        Dom0.Watch("/w", "b").Ok();
        Dom0.TakeEvents();
        Dom0.Write("/w", "").Ok();
        Assert.Equal([new WatchEvent("/w", "a"), new WatchEvent("/w", "b")], Dom0.TakeEvents());
        Assert.Equal(2, _h.Engine.Statistics.Watches);
    }

    [Fact]
    public void Watch_BadArguments_Einval()
    {
        Dom0.Request(XsMessageType.Watch, "/w").Fails("EINVAL");
        Dom0.Request(XsMessageType.Watch, "/w/", "t").Fails("EINVAL");
        Dom0.Raw(XsMessageType.Watch, "/w\0t"u8.ToArray()).Fails("EINVAL");
        Dom0.Request(XsMessageType.Watch, "/w", "t", "-1").Fails("EINVAL");
        Dom0.Request(XsMessageType.Watch, "/w", "t", "x").Fails("EINVAL");
        Dom0.Request(XsMessageType.Unwatch, "/w", "t", "1").Fails("EINVAL");
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void Watch_SpecialAndUnknownSpecialPaths_Accepted()
    {
        Dom0.Watch("@releaseDomain", "r").Ok();
        Dom0.Watch("@xyz", "x").Ok();
    }

    [Fact]
    public void Unwatch_RemovesExactPair_UnknownIsEnoent()
    {
        Dom0.WatchQuietly("/w", "a");
        Dom0.Unwatch("/w", "b").Fails("ENOENT");
        Dom0.Unwatch("/x", "a").Fails("ENOENT");
        Dom0.Unwatch("/w", "a").Ok();
        Dom0.Unwatch("/w", "a").Fails("ENOENT");
        Dom0.Write("/w", "").Ok();
        Assert.Empty(Dom0.TakeEvents());
        Assert.Equal(0, _h.Engine.Statistics.Watches);
    }

    [Fact]
    public void Unwatch_RelativeMatchesItsCanonicalForm()
    {
        Dom0.WatchQuietly("relw", "a");
        Dom0.Unwatch("/local/domain/0/relw", "a").Ok();
    }

    [Fact]
    public void Write_FiresWatchesOnNodeAndAncestors_OnComponentBoundaries()
    {
        Dom0.WatchQuietly("/", "root");
        Dom0.WatchQuietly("/w", "w");
        Dom0.WatchQuietly("/w/x", "wx");
        Dom0.WatchQuietly("/wx", "wx-sibling");
        Dom0.WatchQuietly("/w/x/y", "below");
        Dom0.Write("/w/x", "1").Ok();
        Assert.Equal(
            new[] { "root", "w", "wx" }.Order(),
            Dom0.TakeEvents().Select(e => { Assert.Equal("/w/x", e.Path); return e.Token; }).Order());
    }

    [Fact]
    public void Events_ForOwnChange_ComeBeforeTheReply()
    {
        Dom0.WatchQuietly("/w", "t");
        Reply r = Dom0.Write("/w/x", "1").Ok();
        Assert.Equal([new WatchEvent("/w/x", "t")], r.EventsBefore);
        Assert.Empty(r.EventsAfter);
    }

    [Fact]
    public void Events_ReachOtherConnections()
    {
        TestConnection other = _h.Connect(0, privileged: true);
        other.WatchQuietly("/w", "t");
        Dom0.Write("/w/x", "1").Ok();
        Assert.Equal([new WatchEvent("/w/x", "t")], other.TakeEvents());
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void Write_SameValue_StillFires_ImplicitParentsDoNot()
    {
        Dom0.WatchQuietly("/w", "t");
        Dom0.Write("/w/a/b/c", "v").Ok();
        Assert.Equal(["/w/a/b/c"], Dom0.TakeEventPaths());
        Dom0.Write("/w/a/b/c", "v").Ok();
        Assert.Equal(["/w/a/b/c"], Dom0.TakeEventPaths());
    }

    [Fact]
    public void Mkdir_NewFiresOnce_ExistingNever()
    {
        Dom0.WatchQuietly("/w", "t");
        Dom0.Mkdir("/w/a/b").Ok();
        Assert.Equal(["/w/a/b"], Dom0.TakeEventPaths());
        Dom0.Mkdir("/w/a/b").Ok();
        Dom0.Mkdir("/w/a").Ok();
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void SetPerms_Fires()
    {
        Dom0.Write("/w", "").Ok();
        Dom0.WatchQuietly("/w", "t");
        Dom0.SetPerms("/w", "n0", "r5").Ok();
        Assert.Equal(["/w"], Dom0.TakeEventPaths());
    }

    [Fact]
    public void FailedRequests_FireNothing()
    {
        Dom0.WatchQuietly("/", "t");
        Dom0.Rm("/missing").Ok();
        Dom0.Rm("/missing/x").Fails("ENOENT");
        Dom0.Write("/bad/", "x").Fails("EINVAL");
        Dom0.SetPerms("/missing", "n0").Fails("ENOENT");
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void Rm_FiresExactWatchesOnRemovedDescendantsDeepestFirst_ThenTheNodeForItsAncestors()
    {
        Dom0.Write("/w/y/z/leaf", "").Ok();
        Dom0.Write("/w/y/q", "").Ok();
        Dom0.WatchQuietly("/", "root");
        Dom0.WatchQuietly("/w", "w");
        Dom0.WatchQuietly("/w/y", "y");
        Dom0.WatchQuietly("/w/y/z", "z");
        Dom0.WatchQuietly("/w/y/z/leaf", "leaf");
        Dom0.WatchQuietly("/w/y/z/deep", "never");
        Reply r = Dom0.Rm("/w/y").Ok();
        List<WatchEvent> events = [.. r.EventsBefore];
        Assert.Empty(r.EventsAfter);
        Assert.Equal(new WatchEvent("/w/y/z/leaf", "leaf"), events[0]);
        Assert.Equal(new WatchEvent("/w/y/z", "z"), events[1]);
        Assert.Equal(
            new[] { "root", "w", "y" }.Order(),
            events.Skip(2).Select(e => { Assert.Equal("/w/y", e.Path); return e.Token; }).Order());
        Assert.Equal(5, events.Count);
        _h.AssertConsistent();
    }

    [Fact]
    public void Rm_DescendantEventsFollowCsPostOrder()
    {
        Dom0.Write("/r/z/c1", "").Ok();
        Dom0.Write("/r/q/c2", "").Ok();
        Dom0.Write("/r/q/c2/g", "").Ok();
        foreach (string path in new[] { "/r", "/r/z", "/r/z/c1", "/r/q", "/r/q/c2", "/r/q/c2/g" })
        {
            Dom0.WatchQuietly(path, "t");
        }
        Reply r = Dom0.Rm("/r").Ok();
        // C deletes recursively: each child's subtree (children in list order) before the child, the node last.
        Assert.Equal(["/r/z/c1", "/r/z", "/r/q/c2/g", "/r/q/c2", "/r/q", "/r"], r.EventsBefore.Select(e => e.Path));
    }

    [Fact]
    public void Rm_Missing_FiresNothing()
    {
        Dom0.Write("/w", "").Ok();
        Dom0.WatchQuietly("/", "t");
        Dom0.Rm("/w/missing").Ok();
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void RelativeWatch_ReportsRelativePaths()
    {
        TestConnection dom5 = _h.GuestWithHome(5);
        dom5.Watch("data", "rel").Ok();
        Assert.Equal([new WatchEvent("data", "rel")], dom5.TakeEvents());
        Dom0.Write("/local/domain/5/data/k", "v").Ok();
        Assert.Equal([new WatchEvent("data/k", "rel")], dom5.TakeEvents());
        dom5.Write("data", "v").Ok();
        Assert.Equal([new WatchEvent("data", "rel")], dom5.TakeEvents());
    }

    [Fact]
    public void Transaction_EventsOnlyAtCommit_OnePerModifiedNode()
    {
        Dom0.WatchQuietly("/w", "t");
        uint tx = Dom0.Start();
        Dom0.Write("/w/t1", "a", tx).Ok();
        Dom0.Write("/w/t1", "b", tx).Ok();
        Dom0.Write("/w/t2", "c", tx).Ok();
        Dom0.Mkdir("/w/t3", tx).Ok();
        Dom0.Rm("/w/t3", tx).Ok();
        Assert.Empty(Dom0.TakeEvents());
        Reply r = Dom0.Commit(tx).Ok();
        // /w/t3 was made and removed inside the transaction: it existed neither before nor after, and C sends nothing.
        Assert.Equal(["/w/t1", "/w/t2"], r.EventsBefore.Select(e => e.Path));
        Dom0.TakeEvents();
    }

    [Fact]
    public void Transaction_CommitEvents_FollowTheOrderOfFirstAccess()
    {
        Dom0.Write("/x/a", "old").Ok();
        Dom0.Write("/x/b", "old").Ok();
        Dom0.WatchQuietly("/x", "t");
        uint tx = Dom0.Start();
        Dom0.Write("/x/a", "1", tx).Ok();
        Dom0.Write("/x/b", "1", tx).Ok();
        Dom0.Write("/x/a", "2", tx).Ok();
        Assert.Equal(["/x/a", "/x/b"], Dom0.Commit(tx).Ok().EventsBefore.Select(e => e.Path));
        // A read is an access too: /x/b was touched first, so its event comes first although /x/a was written first.
        tx = Dom0.Start();
        Dom0.Read("/x/b", tx).Is("1");
        Dom0.Write("/x/a", "3", tx).Ok();
        Dom0.Write("/x/b", "3", tx).Ok();
        Assert.Equal(["/x/b", "/x/a"], Dom0.Commit(tx).Ok().EventsBefore.Select(e => e.Path));
    }

    [Fact]
    public void Transaction_NodeRemovedAndMadeAgain_FiresOnce()
    {
        Dom0.Write("/y/a", "old").Ok();
        Dom0.WatchQuietly("/y", "t");
        uint tx = Dom0.Start();
        Dom0.Rm("/y/a", tx).Ok();
        Dom0.Write("/y/a", "new", tx).Ok();
        Dom0.Write("/y/c", "made", tx).Ok();
        Dom0.Rm("/y/c", tx).Ok();
        Dom0.Write("/y/c", "made again", tx).Ok();
        Assert.Equal(["/y/a", "/y/c"], Dom0.Commit(tx).Ok().EventsBefore.Select(e => e.Path));
        Dom0.Read("/y/c").Is("made again");
    }

    [Fact]
    public void Transaction_AbortOrConflict_FiresNothing()
    {
        Dom0.Write("/w/a", "0").Ok();
        Dom0.WatchQuietly("/w", "t");
        uint tx = Dom0.Start();
        Dom0.Write("/w/t1", "a", tx).Ok();
        Dom0.Abort(tx).Ok();
        Assert.Empty(Dom0.TakeEvents());
        tx = Dom0.Start();
        Dom0.Read("/w/a", tx).Is("0");
        Dom0.Write("/w/t1", "a", tx).Ok();
        TestConnection other = _h.Connect(0, privileged: true);
        other.Write("/w/a", "1").Ok();
        Assert.Equal(["/w/a"], Dom0.TakeEventPaths());
        Dom0.Commit(tx).Fails("EAGAIN");
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void Xsa115_EventsFilteredByReadPermissionOnNodeOrParent()
    {
        TestConnection dom5 = _h.GuestWithHome(5);
        _h.GuestWithHome(6);
        Dom0.Mkdir("/local/domain/6/data").Ok();
        Dom0.Write("/local/domain/6/data/hidden", "h").Ok();
        Dom0.Write("/local/domain/6/data/secret", "s").Ok();
        Dom0.SetPerms("/local/domain/6/data/secret", "n6", "r5").Ok();
        Dom0.Write("/local/domain/6/data/secret/child", "c").Ok();
        Dom0.SetPerms("/local/domain/6/data/secret/child", "n6").Ok();
        dom5.Watch("/local/domain/6", "w").Ok();
        Assert.Single(dom5.TakeEvents());

        Dom0.Write("/local/domain/6/data/hidden", "h2").Ok();
        Assert.Empty(dom5.TakeEvents());
        Dom0.Write("/local/domain/6/data/secret", "s2").Ok();
        Assert.Equal(["/local/domain/6/data/secret"], dom5.TakeEventPaths());
        // Unreadable itself, but its parent is readable.
        Dom0.Write("/local/domain/6/data/secret/child", "c2").Ok();
        Assert.Equal(["/local/domain/6/data/secret/child"], dom5.TakeEventPaths());
        // Losing access still delivers this last event (old permissions count).
        Dom0.SetPerms("/local/domain/6/data/secret", "n6").Ok();
        Assert.Equal(["/local/domain/6/data/secret"], dom5.TakeEventPaths());
        Dom0.Write("/local/domain/6/data/secret", "s3").Ok();
        Assert.Empty(dom5.TakeEvents());
        // Gaining access delivers too.
        Dom0.SetPerms("/local/domain/6/data/hidden", "n6", "r5").Ok();
        Assert.Equal(["/local/domain/6/data/hidden"], dom5.TakeEventPaths());
    }

    [Fact]
    public void Xsa115_RmUsesRemovedNodesPermissions()
    {
        TestConnection dom5 = _h.GuestWithHome(5);
        Dom0.Write("/priv/open", "").Ok();
        Dom0.Write("/priv/closed", "").Ok();
        Dom0.SetPerms("/priv", "n0").Ok();
        Dom0.SetPerms("/priv/open", "n0", "r5").Ok();
        Dom0.SetPerms("/priv/closed", "n0").Ok();
        dom5.WatchQuietly("/priv", "p");
        Dom0.Rm("/priv/closed").Ok();
        Assert.Empty(dom5.TakeEvents());
        Dom0.Rm("/priv/open").Ok();
        Assert.Equal(["/priv/open"], dom5.TakeEventPaths());
    }

    [Fact]
    public void Xsa115_InitialEventIsNeverFiltered()
    {
        TestConnection dom5 = _h.GuestWithHome(5);
        _h.GuestWithHome(6);
        Reply r = dom5.Watch("/local/domain/6", "w").Ok();
        Assert.Equal([new WatchEvent("/local/domain/6", "w")], r.EventsAfter);
    }

    [Fact]
    public void Depth_LimitsLevelsBelowTheWatchedNode()
    {
        Dom0.Request(XsMessageType.Watch, "/d", "d0", "0").Ok();
        Dom0.Request(XsMessageType.Watch, "/d", "d1", "1").Ok();
        Dom0.Request(XsMessageType.Watch, "/d", "all", "").Fails("EINVAL");
        Dom0.WatchQuietly("/d", "all");
        Dom0.TakeEvents();
        Dom0.Write("/d", "").Ok();
        Assert.Equal(["all", "d0", "d1"], Dom0.TakeEvents().Select(e => e.Token).Order());
        Dom0.Write("/d/x", "").Ok();
        Assert.Equal(["all", "d1"], Dom0.TakeEvents().Select(e => e.Token).Order());
        Dom0.Write("/d/x/y", "").Ok();
        Assert.Equal(["all"], Dom0.TakeEvents().Select(e => e.Token));
    }

    [Fact]
    public void Depth_NeedsTheWatchDepthFeature()
    {
        Dom0.Request(XsMessageType.SetFeature, "5", "0").Ok();
        TestConnection dom5 = _h.GuestWithHome(5);
        dom5.Request(XsMessageType.Watch, "data", "t", "1").Fails("EINVAL");
        TestConnection dom6 = _h.GuestWithHome(6);
        dom6.Request(XsMessageType.Watch, "data", "t", "1").Ok();
    }

    [Fact]
    public void IntroduceDomain_FiresForNewDomainsOnly_ToPrivilegedAndPermittedWatchers()
    {
        TestConnection dom7 = _h.Guest(7);
        TestConnection dom6 = _h.Guest(6);
        Dom0.WatchQuietly("@introduceDomain", "i");
        dom7.WatchQuietly("@introduceDomain", "i7");
        dom6.WatchQuietly("@introduceDomain", "i6");
        Dom0.SetPerms("@introduceDomain", "n0", "r7").Ok();
        Dom0.Request(XsMessageType.Introduce, "5", "1", "1").Ok();
        Assert.Equal([new WatchEvent("@introduceDomain", "i")], Dom0.TakeEvents());
        Assert.Equal([new WatchEvent("@introduceDomain", "i7")], dom7.TakeEvents());
        Assert.Empty(dom6.TakeEvents());
        Dom0.Request(XsMessageType.Introduce, "5", "2", "3").Ok();
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void ReleaseDomain_FiresPlainAndPerDomainForms()
    {
        _h.Guest(5);
        _h.Guest(6);
        Dom0.WatchQuietly("@releaseDomain", "plain");
        Dom0.WatchQuietly("@releaseDomain/5", "five");
        Dom0.WatchQuietly("@releaseDomain/6", "six");
        Dom0.Request(XsMessageType.Watch, "@releaseDomain", "depth1", "1").Ok();
        Dom0.TakeEvents();
        Dom0.Request(XsMessageType.Release, "5").Ok();
        List<WatchEvent> events = Dom0.TakeEvents();
        Assert.Equal(
            new[] { new WatchEvent("@releaseDomain", "plain"), new WatchEvent("@releaseDomain/5", "depth1"), new WatchEvent("@releaseDomain/5", "five") }
                .OrderBy(e => e.Token),
            events.OrderBy(e => e.Token));
    }

    [Fact]
    public void IntroduceDomain_PerDomainForm()
    {
        Dom0.WatchQuietly("@introduceDomain/5", "five");
        Dom0.WatchQuietly("@introduceDomain/6", "six");
        Dom0.Request(XsMessageType.Watch, "@introduceDomain", "d1", "1").Ok();
        Dom0.Request(XsMessageType.Watch, "@introduceDomain", "d0", "0").Ok();
        Dom0.TakeEvents();
        Dom0.Request(XsMessageType.Introduce, "5", "1", "1").Ok();
        // Depth 0 on the plain name sends nothing: the per-domain node is one level below (as C 4.22 counts).
        Assert.Equal(
            new[] { new WatchEvent("@introduceDomain/5", "d1"), new WatchEvent("@introduceDomain/5", "five") }
                .OrderBy(e => e.Token),
            Dom0.TakeEvents().OrderBy(e => e.Token));
    }

    [Fact]
    public void ReleaseDomain_GuestWatcherNeedsReadOnSpecialNode()
    {
        _h.Guest(5);
        TestConnection dom6 = _h.Guest(6);
        TestConnection dom7 = _h.Guest(7);
        Dom0.SetPerms("@releaseDomain", "n0", "r7").Ok();
        dom6.WatchQuietly("@releaseDomain", "r6");
        dom7.WatchQuietly("@releaseDomain", "r7");
        Dom0.Request(XsMessageType.Release, "5").Ok();
        Assert.Empty(dom6.TakeEvents());
        Assert.Equal([new WatchEvent("@releaseDomain", "r7")], dom7.TakeEvents());
    }

    [Fact]
    public void ResetWatches_DropsWatchesAndTransactions()
    {
        Dom0.WatchQuietly("/w", "t");
        uint tx = Dom0.Start();
        Dom0.Raw(XsMessageType.ResetWatches, [0]).Ok();
        Dom0.Write("/w", "").Ok();
        Assert.Empty(Dom0.TakeEvents());
        Dom0.Read("/w", tx).Fails("ENOENT");
        Dom0.Commit(tx).Fails("ENOENT");
        Assert.Equal(0, _h.Engine.Statistics.Watches);
        Assert.Equal(0, _h.Engine.Statistics.OpenTransactions);
        Dom0.Watch("/w", "t").Ok();
    }

    [Fact]
    public void ResetWatches_InsideTransaction_IsSafe()
    {
        uint tx = Dom0.Start();
        Dom0.Raw(XsMessageType.ResetWatches, [0], tx).Ok();
        Dom0.Commit(tx).Fails("ENOENT");
        Assert.Equal(0, _h.Engine.Statistics.OpenTransactions);
    }

    [Fact]
    public void CloseConnection_DropsItsWatches()
    {
        TestConnection other = _h.Connect(0, privileged: true);
        other.WatchQuietly("/w", "t");
        _h.Engine.CloseConnection(other.Id);
        Assert.Equal(0, _h.Engine.Statistics.Watches);
        Dom0.Write("/w", "").Ok();
    }

    [Fact]
    public void OversizedEvent_IsDropped()
    {
        string token = new('t', 4090);
        Dom0.Watch("/w", token).Ok();
        Dom0.TakeEvents();
        Dom0.Write("/w/abcdefgh", "").Ok();
        Assert.Empty(Dom0.TakeEvents());
    }
}
