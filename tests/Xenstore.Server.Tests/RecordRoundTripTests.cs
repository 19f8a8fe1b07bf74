using System.Globalization;
using Xenstore.Protocol;
using Xenstore.Server.Persistence;
using Xenstore.Store;
using Xenstore.TestKit.Engine;

namespace Xenstore.Server.Tests;

/// <summary>
/// The state file's records both ways: what the encoder is given, the decoder gives back, record for record; and
/// an engine restored from a snapshot's records writes the same snapshot again.
/// </summary>
public sealed class RecordRoundTripTests
{
    private static readonly XsPermission[] s_perms = [new(XsAccess.None, 5), new(XsAccess.Read, 0), new(XsAccess.Both, XsConstants.DomidAny)];

    /// <summary>Every kind of record, with the fields that have edge values.</summary>
    private static void WriteEveryKind(IStateJournal journal)
    {
        journal.GlobalQuotaWritten(Quota.Nodes, 0);
        journal.GlobalQuotaWritten(Quota.WatchEvents, long.MaxValue);
        journal.NodeWritten(XsPath.IntroduceDomain, [], [new(XsAccess.None, 0), new(XsAccess.Read, 7)]);
        journal.NodeWritten("/local/domain/5", [], s_perms);
        journal.NodeWritten("/local/domain/5/data", "x\0y\u00ff"u8, s_perms);
        journal.NodeWritten("/empty", [], [new(XsAccess.Write, 0)]);
        journal.NodeRemoved("/local/domain/5/data");
        journal.DomainWritten(new DomainRecord(5, true, 0xfeedf00d, 7, Shutdown: true, Target: 3,
            XsServerFeatures.Error | XsServerFeatures.WatchDepth, new Dictionary<Quota, long> { [Quota.Watches] = 2, [Quota.Nodes] = 0 }));
        journal.DomainWritten(new DomainRecord(6, false, 0, 0, false, null, XsServerFeatures.None, new Dictionary<Quota, long>()));
        journal.DomainRemoved(6);
        journal.RingWatchAdded(5, new WatchRecord("/local/domain/5/data", "tok\u00ff", Relative: true, Depth: -1));
        journal.RingWatchAdded(5, new WatchRecord(XsPath.ReleaseDomain, "", Relative: false, Depth: int.MaxValue));
        journal.RingWatchAdded(0, new WatchRecord("/", "dom0", Relative: false, Depth: 0));
        journal.RingWatchRemoved(5, "/local/domain/5/data", "tok\u00ff");
        journal.RingTransactionOpened(5, 1);
        journal.RingTransactionOpened(5, uint.MaxValue);
        journal.RingTransactionEnded(5, 1);
        journal.RingConnectionCleared(0);
    }

    [Fact]
    public void Decoder_GivesBackWhatTheEncoderWasGiven()
    {
        var expected = new RecordingJournal();
        WriteEveryKind(expected);

        var encoder = new RecordEncoder();
        WriteEveryKind(encoder);
        encoder.End();
        var decoded = new RecordingJournal();
        int valid = RecordDecoder.Apply(encoder.Written.Span, decoded, out bool sawEnd, out int applied);

        Assert.Equal(expected.Records, decoded.Records);
        Assert.True(sawEnd);
        Assert.Equal(expected.Records.Count + 1, applied);
        Assert.Equal(encoder.Written.Length, valid);
    }

    [Fact]
    public void Decoder_StopsAtATornRecord()
    {
        var encoder = new RecordEncoder();
        WriteEveryKind(encoder);
        var decoded = new RecordingJournal();
        int valid = RecordDecoder.Apply(encoder.Written.Span[..^3], decoded, out bool sawEnd, out int applied);

        Assert.False(sawEnd);
        Assert.Equal(applied, decoded.Records.Count);
        Assert.True(valid < encoder.Written.Length - 3);
        Assert.Equal("ring 5 transaction ended 1", decoded.Records[^1]);
    }

    [Fact]
    public void AnEngineRestoredFromASnapshot_WritesTheSameSnapshot()
    {
        var original = new EngineHarness();
        TestConnection guest = original.GuestWithHome(5);
        guest.Write("data/a", "1").Ok();
        original.Dom0.Write("/shared/b", "2").Ok();
        original.Dom0.SetPerms("/shared", "n0", "r5").Ok();
        original.Dom0.Request(XsMessageType.SetQuota, "5", "watches", "3").Ok();
        original.Dom0.Request(XsMessageType.SetQuota, "nodes", "500").Ok();
        original.Dom0.SetPerms(XsPath.ReleaseDomain, "n0", "r5").Ok();
        original.Dom0.Request(XsMessageType.Introduce, "6", "1", "1").Ok();
        TestConnection ring = original.ConnectRing(6);
        ring.Request(XsMessageType.Watch, "data", "relative", "2").Ok();
        ring.Watch("@introduceDomain", "special").Ok();
        ring.Start();

        var encoder = new RecordEncoder();
        EngineSnapshot snapshot = original.Engine.Persistence.BeginSnapshot();
        snapshot.WriteTo(encoder);
        original.Engine.Persistence.EndSnapshot(snapshot);
        encoder.End();

        var restored = new EngineHarness();
        RecordDecoder.Apply(encoder.Written.Span, restored.Engine.Persistence.Restorer, out bool sawEnd, out _);
        Assert.True(sawEnd);

        Assert.Equal(SnapshotOf(original), SnapshotOf(restored));
        restored.AssertConsistent();
        restored.Connect(5).Read("/local/domain/5/data/a").Is("1");
        TestConnection resumed = restored.ConnectRing(6, ConnectionKind.ResumedRing);
        Assert.Equal([new WatchEvent("data", "relative"), new WatchEvent("@introduceDomain", "special")], resumed.TakeEvents());
    }

    private static List<string> SnapshotOf(EngineHarness harness)
    {
        var journal = new RecordingJournal();
        EngineSnapshot snapshot = harness.Engine.Persistence.BeginSnapshot();
        snapshot.WriteTo(journal);
        harness.Engine.Persistence.EndSnapshot(snapshot);
        return journal.Records;
    }

    private sealed class RecordingJournal : IStateJournal
    {
        public List<string> Records { get; } = [];

        public void NodeWritten(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> perms) =>
            Records.Add($"node {path} {Convert.ToHexString(value)} {string.Join(',', perms.ToArray())}");

        public void NodeRemoved(string path) => Records.Add("removed " + path);

        public void DomainWritten(DomainRecord domain)
        {
            string overrides = string.Join(',', domain.QuotaOverrides.OrderBy(q => q.Key)
                .Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.Key}={q.Value}")));
            Records.Add(string.Create(CultureInfo.InvariantCulture,
                $"domain {domain.Domid} {domain.Introduced} {domain.Gfn} {domain.EventChannel} {domain.Shutdown} {domain.Target} {domain.Features} {overrides}"));
        }

        public void DomainRemoved(uint domid) => Records.Add("domain removed " + domid);

        public void GlobalQuotaWritten(Quota quota, long value) =>
            Records.Add(string.Create(CultureInfo.InvariantCulture, $"quota {quota} {value}"));

        public void RingWatchAdded(uint domid, WatchRecord watch) =>
            Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} watch {watch.Path} {Hex(watch.Token)} {watch.Relative} {watch.Depth}"));

        public void RingWatchRemoved(uint domid, string path, string token) =>
            Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} unwatch {path} {Hex(token)}"));

        public void RingTransactionOpened(uint domid, uint transactionId) =>
            Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} transaction {transactionId}"));

        public void RingTransactionEnded(uint domid, uint transactionId) =>
            Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} transaction ended {transactionId}"));

        public void RingConnectionCleared(uint domid) => Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} cleared"));

        private static string Hex(string text) => Convert.ToHexString(System.Text.Encoding.Latin1.GetBytes(text));
    }
}
