using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;
using Xenstore.Store.Watches;

namespace Xenstore.Store.Tests.Watches;

public sealed class WatchTableTests
{
    private static readonly XsPermission[] s_private = [new(XsAccess.None, 0)];
    private static readonly XsPermission[] s_readable = [new(XsAccess.Read, 0)];

    private readonly DomainTable _domains = new(new QuotaSet(), XsServerFeatures.Error);
    private readonly Events _output = new();
    private readonly WatchTable _watches;
    private readonly Connection _dom0 = new(1, 0, true);
    private readonly Connection _guest = new(2, 5, false);

    public WatchTableTests() => _watches = new WatchTable(_domains, _output);

    private void Change(string path, XsPermission[] perms, bool exactOnly = false)
    {
        _watches.Queue(new PendingEvent(path, perms, null, null, exactOnly));
        _watches.FirePending();
    }

    [Fact]
    public void AddAndRemove_ChargeTheOwnersDomain()
    {
        Watch watch = _watches.Add(_guest, "/a", "t", relative: false, depth: -1);
        Assert.Equal(1, _watches.Count);
        Assert.Equal(1, _domains.Usage(5, Accounted.Watches));
        Assert.Same(watch, _guest.FindWatch("/a", "t"));

        _watches.Remove(watch);
        Assert.Equal(0, _watches.Count);
        Assert.False(_domains.Contains(5));
        Assert.Empty(_guest.Watches);
    }

    [Fact]
    public void AChange_FiresWatchesOnThePathAndItsAncestors_InRegistrationOrder()
    {
        _watches.Add(_dom0, "/a/b", "second", false, -1);
        _watches.Add(_dom0, "/", "third", false, -1);
        _watches.Add(_dom0, "/a/b/c", "first", false, -1);
        _watches.Add(_dom0, "/x", "never", false, -1);
        Change("/a/b/c", s_private);
        Assert.Equal(["/a/b/c|second", "/a/b/c|third", "/a/b/c|first"], _output.Taken());
    }

    [Fact]
    public void ExactOnlyChanges_FireOnlyWatchesOnThatPath()
    {
        _watches.Add(_dom0, "/a", "parent", false, -1);
        _watches.Add(_dom0, "/a/b", "exact", false, -1);
        Change("/a/b", s_private, exactOnly: true);
        Assert.Equal(["/a/b|exact"], _output.Taken());
    }

    [Fact]
    public void ADepthLimit_StopsEventsFromDeeperNodes()
    {
        _watches.Add(_dom0, "/a", "d1", false, depth: 1);
        Change("/a/b", s_private);
        Change("/a/b/c", s_private);
        Assert.Equal(["/a/b|d1"], _output.Taken());
    }

    [Fact]
    public void UnprivilegedWatchers_HearOnlyOfNodesTheyMayRead()
    {
        _watches.Add(_guest, "/a", "t", false, -1);
        Change("/a/hidden", s_private);
        Change("/a/open", s_readable);
        Assert.Equal(["/a/open|t"], _output.Taken());
    }

    [Fact]
    public void RelativeWatches_ReportPathsBelowTheOwnersHome()
    {
        _watches.Add(_guest, "/local/domain/5/data", "t", relative: true, -1);
        Change("/local/domain/5/data/x", s_readable);
        Assert.Equal(["data/x|t"], _output.Taken());
    }

    [Fact]
    public void CommitCoalescing_KeepsTheLastChangeOfEachNode_InTheOrderOfTheirKeys()
    {
        _watches.Add(_dom0, "/", "t", false, -1);
        _watches.Queue(new PendingEvent("/before", s_private, null, null, false));
        int first = _watches.PendingCount;
        foreach (string path in new[] { "/a", "/b", "/a", "/c", "/b" })
        {
            _watches.Queue(new PendingEvent(path, s_private, null, null, false));
        }
        // Keys as a commit gives them: the order in which the transaction first accessed each node.
        _watches.CoalesceCommitFrom(first, [1, 0, 1, 2, 0]);
        _watches.FirePending();
        Assert.Equal(["/before|t", "/b|t", "/a|t", "/c|t"], _output.Taken());
    }

    [Fact]
    public void CommitCoalescing_DropsANodeCreatedAndRemovedAgain_KeepsOneRemovedAndCreatedAgain()
    {
        _watches.Add(_dom0, "/", "t", false, -1);
        int first = _watches.PendingCount;
        _watches.Queue(new PendingEvent("/made", s_private, null, null, false, ChangeKind.Created));
        _watches.Queue(new PendingEvent("/made", s_private, null, null, false, ChangeKind.Removed));
        _watches.Queue(new PendingEvent("/old", s_private, null, null, false, ChangeKind.Removed));
        _watches.Queue(new PendingEvent("/old", s_private, null, null, false, ChangeKind.Created));
        _watches.CoalesceCommitFrom(first, [0, 0, 1, 1]);
        _watches.FirePending();
        Assert.Equal(["/old|t"], _output.Taken());
    }

    [Fact]
    public void SpecialPaths_FireThePlainFormOrThePerDomainForm()
    {
        _watches.Add(_dom0, XsPath.ReleaseDomain, "plain", false, -1);
        _watches.Add(_dom0, XsPath.ReleaseDomain, "deep", false, depth: 1);
        // Depth 0 on the plain name: the per-domain node is one level below, so nothing (C 4.22).
        _watches.Add(_dom0, XsPath.ReleaseDomain, "flat", false, depth: 0);
        _watches.Add(_dom0, XsPath.ReleaseDomain + "/7", "one", false, -1);
        _watches.Add(_guest, XsPath.ReleaseDomain, "guest", false, -1);
        _watches.FireSpecial(XsPath.ReleaseDomain, 7);
        Assert.Equal(["@releaseDomain|plain", "@releaseDomain/7|deep", "@releaseDomain/7|one"], _output.Taken());

        Assert.True(_watches.TrySetSpecialPerms(XsPath.ReleaseDomain, [new(XsAccess.None, 0), new(XsAccess.Read, 5)]));
        _watches.FireSpecial(XsPath.ReleaseDomain, 8);
        Assert.Contains("@releaseDomain|guest", _output.Taken());
    }

    [Fact]
    public void ScrubSpecialPerms_RemovesEntriesNamingTheDomain()
    {
        _watches.TrySetSpecialPerms(XsPath.IntroduceDomain, [new(XsAccess.None, 0), new(XsAccess.Read, 5), new(XsAccess.Read, 6)]);
        _watches.ScrubSpecialPerms(5);
        Assert.Equal([new(XsAccess.None, 0), new(XsAccess.Read, 6)], _watches.ExactSpecialPerms(XsPath.IntroduceDomain)!);
        Assert.False(_watches.TrySetSpecialPerms("@other", s_private));
    }

    [Fact]
    public void EventPayload_IsDroppedWhenOverTheLimit()
    {
        Assert.Equal("/a\0t\0"u8.ToArray(), WatchTable.EventPayload("/a", "t"));
        Assert.Null(WatchTable.EventPayload("/" + new string('x', XsConstants.PayloadMax), "t"));
    }

    private sealed class Events : IEngineOutput
    {
        private readonly List<string> _sent = [];

        public void Send(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
        {
            Assert.Equal(XsMessageType.WatchEvent, type);
            _sent.Add(Encoding.Latin1.GetString(payload).TrimEnd('\0').Replace('\0', '|'));
        }

        public List<string> Taken()
        {
            List<string> taken = [.. _sent];
            _sent.Clear();
            return taken;
        }
    }
}
