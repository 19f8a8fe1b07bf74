using System.Text;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;

namespace Xenstore.Server.Tests;

/// <summary>The identical-event rule of <see cref="OutputQueue"/> across replies, publishing and takes.</summary>
public sealed class OutputQueueTests
{
    private static byte[] Event(string path) => Encoding.ASCII.GetBytes(path + "\0tok\0");

    [Fact]
    public void AnEventIdenticalToAQueuedOne_IsNotQueuedBehindReplies()
    {
        var queue = new OutputQueue(eventLimit: 1000, storeThreadOnly: true);
        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/a")));
        for (uint i = 0; i < 100; i++)
        {
            queue.Append(XsMessageType.Read, i, 0, "value"u8);
        }
        Assert.Equal(AppendOutcome.AlreadyQueued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/a")));
        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/ab")));
        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/")));
        // A reply whose payload looks like an event is not an event.
        queue.Append(XsMessageType.Read, 1, 0, Event("/b"));
        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/b")));
    }

    [Fact]
    public void AfterATake_OnlyTheEventsStillQueuedCount()
    {
        var queue = new OutputQueue(eventLimit: 1000, storeThreadOnly: true);
        queue.Append(XsMessageType.Read, 1, 0, "reply"u8);
        queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/sent"));
        queue.Publish();
        queue.Append(XsMessageType.Read, 2, 0, "reply"u8);
        queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/waiting"));

        byte[] spare = new byte[4096];
        int taken = queue.TakeAll(ref spare);
        Assert.True(taken > 0);

        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/sent")));
        Assert.Equal(AppendOutcome.AlreadyQueued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/waiting")));
        Assert.Equal(AppendOutcome.AlreadyQueued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/sent")));
        queue.Publish();
        queue.TakeAll(ref spare);
        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("/waiting")));
    }

    [Fact]
    public void SpecialEvents_AreAlwaysQueued()
    {
        var queue = new OutputQueue(eventLimit: 1000, storeThreadOnly: true);
        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("@releaseDomain")));
        Assert.Equal(AppendOutcome.Queued, queue.Append(XsMessageType.WatchEvent, 0, 0, Event("@releaseDomain")));
    }
}
