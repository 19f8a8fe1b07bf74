using System.Diagnostics;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>Verifies the reply to request <paramref name="index"/>.</summary>
internal delegate void CheckReply(XsConnection connection, long index, uint reqId, in Frame frame);

/// <summary>Blocking request helpers for setup phases, and the pipelined driver.</summary>
internal static class Ops
{
    public static byte[] Z(string text) => Encoding.ASCII.GetBytes(text + "\0");

    public static byte[] Bytes(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>One request, one reply; throws on ERROR or a mismatched header. Returns the reply payload.</summary>
    public static byte[] Call(XsConnection c, XsMessageType type, uint txId, ReadOnlySpan<byte> payload)
    {
        uint reqId = c.Enqueue(type, txId, payload);
        c.Flush();
        Frame frame = NextReply(c);
        Replies.ExpectHeader(c, frame, type, reqId);
        return c.Payload(frame).ToArray();
    }

    /// <summary>One request; returns the error name, or null with the payload on success.</summary>
    public static string? TryCall(XsConnection c, XsMessageType type, uint txId, ReadOnlySpan<byte> payload, out byte[] reply)
    {
        uint reqId = c.Enqueue(type, txId, payload);
        c.Flush();
        Frame frame = NextReply(c);
        string? error = Replies.ErrorOrNull(c, frame, type, reqId);
        reply = c.Payload(frame).ToArray();
        return error;
    }

    public static void Write(XsConnection c, string path, string value, uint txId = 0)
    {
        byte[] reply = Call(c, XsMessageType.Write, txId, WritePayload(path, value));
        if (!Replies.PayloadChecksOff && !reply.AsSpan().SequenceEqual(Replies.Ok))
        {
            throw new ProtocolException($"WRITE {path}: reply '{Replies.Show(reply)}'");
        }
    }

    public static byte[] WritePayload(string path, string value) => Encoding.ASCII.GetBytes(path + "\0" + value);

    /// <summary>Skips watch events (req_id 0, type WATCH_EVENT): connections that watch nothing get none.</summary>
    private static Frame NextReply(XsConnection c)
    {
        while (true)
        {
            Frame frame = c.Next();
            if (frame.Header.Type != XsMessageType.WatchEvent)
            {
                return frame;
            }
        }
    }

    /// <summary>
    /// Issues requests 0..count-1 with up to <paramref name="window"/> in flight (each batch leaves in one write) and
    /// verifies every reply in order. Stops early at <paramref name="deadline"/> (a Stopwatch timestamp) if given.
    /// Returns the number of replies verified.
    /// </summary>
    public static long Pipelined(XsConnection c, long count, int window, Func<long, uint> issue, CheckReply check, long deadline = long.MaxValue)
    {
        var reqIds = new uint[window];
        long issued = 0;
        long done = 0;
        while (done < count)
        {
            bool stopIssuing = deadline != long.MaxValue && Stopwatch.GetTimestamp() >= deadline;
            while (!stopIssuing && issued < count && issued - done < window)
            {
                reqIds[issued % window] = issue(issued);
                issued++;
            }
            if (c.PendingSend > 0)
            {
                c.Flush();
            }
            if (done == issued)
            {
                break;
            }
            c.Receive();
            while (done < issued && c.TryTake(out Frame frame))
            {
                check(c, done, reqIds[done % window], frame);
                done++;
            }
        }
        return done;
    }

    public static long Deadline(double seconds) => Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);

    public static double Seconds(long start, long end) => (end - start) / (double)Stopwatch.Frequency;
}
