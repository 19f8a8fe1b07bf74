using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;
using Xenstore.Server.LiveUpdate;

namespace Xenstore.Server.Tests;

/// <summary>
/// The live-update channel between a daemon and its successor, both ends in this process: descriptors arrive in
/// order however many there are (the kernel takes at most 253 a message), and each side sees the other leave.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HandoverChannelTests
{
    [Fact]
    public async Task More_descriptors_than_one_message_holds_arrive_in_order_with_the_record()
    {
        using HandoverChannel daemon = HandoverChannel.CreatePair(out int successorEnd);
        using HandoverChannel successor = HandoverChannel.Adopt(successorEnd);
        var pipes = Enumerable.Range(0, 300).Select(_ => new AnonymousPipeServerStream(PipeDirection.Out)).ToList();
        try
        {
            var readEnds = pipes.Select(p => (int)p.ClientSafePipeHandle.DangerousGetHandle()).ToList();
            byte[] record = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();

            Task send = Task.Run(() => daemon.SendHandover(readEnds, record));
            (List<int> received, byte[] receivedRecord) = successor.ReceiveHandover();
            await send;

            Assert.Equal(record, receivedRecord);
            Assert.Equal(300, received.Count);
            for (int i = 0; i < pipes.Count; i++)
            {
                pipes[i].WriteByte((byte)i);
                pipes[i].Flush();
                using var reader = new FileStream(new SafeFileHandle(received[i], ownsHandle: true), FileAccess.Read, bufferSize: 0);
                Assert.Equal((byte)i, reader.ReadByte());
            }
        }
        finally
        {
            pipes.ForEach(p => p.Dispose());
        }
    }

    [Fact]
    public void Each_side_sees_the_other_leave()
    {
        HandoverChannel daemon = HandoverChannel.CreatePair(out int successorEnd);
        using HandoverChannel successor = HandoverChannel.Adopt(successorEnd);
        successor.Signal(HandoverChannel.StandingBy);
        Assert.Equal(HandoverChannel.StandingBy, daemon.Receive(TimeSpan.FromSeconds(30)));

        // The daemon gives the update up: the successor, standing by, learns it from the channel's end.
        daemon.Dispose();

        Assert.Throws<EndOfStreamException>(() => successor.ReceiveHandover());

        using HandoverChannel daemon2 = HandoverChannel.CreatePair(out int successorEnd2);
        HandoverChannel.Adopt(successorEnd2).Dispose();
        Assert.Null(daemon2.Receive(TimeSpan.FromSeconds(30)));
    }
}
