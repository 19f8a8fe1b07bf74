using Xenstore.Server.LiveUpdate;
using Xenstore.Store;

namespace Xenstore.Server.Tests;

/// <summary>The live-update hand-over record survives its trip as bytes, and a damaged one is refused whole.</summary>
public sealed class HandoverCodecTests
{
    private static HandoverRecord Sample() => new(
        new Handover(
            [
                new HandoverConnection([1, 2, 3], [], [new WatchRecord("/a", "t\u00e9", Relative: false, Depth: 0)]),
                new HandoverConnection([], new byte[5000], []),
            ],
            [new HandoverRing(7, [new WatchRecord("device/vif", "tok", Relative: true, Depth: 3)])],
            new HandoverReply(1, 42, 9)),
        [new HandoverRingBuffers(7, [9, 8], [7])]);

    [Fact]
    public void A_record_comes_back_field_for_field()
    {
        HandoverRecord sample = Sample();

        HandoverRecord back = HandoverCodec.Decode(HandoverCodec.Encode(sample));

        Assert.Equal(2, back.Handover.Connections.Count);
        Assert.Equal([1, 2, 3], back.Handover.Connections[0].UnparsedInput);
        Assert.Empty(back.Handover.Connections[0].UnsentOutput);
        Assert.Equal(sample.Handover.Connections[0].Watches, back.Handover.Connections[0].Watches);
        Assert.Equal(5000, back.Handover.Connections[1].UnsentOutput.Length);
        Assert.Equal(7u, Assert.Single(back.Handover.Rings).Domid);
        Assert.Equal(sample.Handover.Rings[0].Watches, back.Handover.Rings[0].Watches);
        Assert.Equal(new HandoverReply(1, 42, 9), back.Handover.Reply);
        HandoverRingBuffers buffers = Assert.Single(back.RingBuffers);
        Assert.Equal(7u, buffers.Domid);
        Assert.Equal([9, 8], buffers.Input);
        Assert.Equal([7], buffers.Output);
    }

    [Fact]
    public void A_record_without_a_deferred_reply_has_none()
    {
        var record = new HandoverRecord(new Handover([], [], null), []);

        Assert.Null(HandoverCodec.Decode(HandoverCodec.Encode(record)).Handover.Reply);
    }

    [Fact]
    public void A_cut_record_or_another_version_is_refused()
    {
        byte[] bytes = HandoverCodec.Encode(Sample());

        Assert.Throws<InvalidDataException>(() => HandoverCodec.Decode(bytes[..^1]));
        Assert.Throws<InvalidDataException>(() => HandoverCodec.Decode([.. bytes, 0]));
        bytes[0] = 99;
        Assert.Throws<InvalidDataException>(() => HandoverCodec.Decode(bytes));
    }
}
