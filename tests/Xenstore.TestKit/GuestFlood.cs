using Xenstore.Protocol;

namespace Xenstore.TestKit;

/// <summary>What a hostile guest does to its ring (kept out of <see cref="SimulatedGuest"/>, whose page access is unsafe code).</summary>
public static class GuestFlood
{
    /// <summary>
    /// A guest that never reads its replies: keeps the request ring full of the same request (new req_ids) for as
    /// long as the daemon takes requests, and stops once it has taken none for 500 ms (30 s at most). Returns the
    /// requests written and those the daemon consumed.
    /// </summary>
    public static async Task<(uint Sent, uint Consumed)> FloodWithoutReadingAsync(this SimulatedGuest guest, XsMessageType type, byte[] payload)
    {
        int frameLength = XsConstants.HeaderSize + payload.Length;
        uint sent = 0;
        uint lastConsumer = uint.MaxValue;
        var stalledSince = DateTime.UtcNow;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            uint consumer = guest.Read(RingLayout.RequestConsumer);
            uint producer = guest.Read(RingLayout.RequestProducer);
            if (RingLayout.RingSize - (int)(producer - consumer) >= frameLength)
            {
                guest.Send(type, payload);
                sent++;
                continue;
            }
            if (consumer != lastConsumer)
            {
                lastConsumer = consumer;
                stalledSince = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - stalledSince > TimeSpan.FromMilliseconds(500))
            {
                break;
            }
            guest.Notify();
            await Task.Delay(5).ConfigureAwait(false);
        }
        return (sent, guest.Read(RingLayout.RequestConsumer) / (uint)frameLength);
    }
}
