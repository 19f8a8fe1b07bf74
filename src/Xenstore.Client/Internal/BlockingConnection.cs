using System.Runtime.InteropServices;
using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// One request at a time on the caller's own thread: write the request, then wait in poll() on the descriptor and
/// read until its reply is in. Nothing runs in the background: no loop task, no thread-pool work item, no timer and
/// none of the runtime's socket engine (whose epoll thread a socket joins at its first asynchronous operation). A
/// short-lived program that makes a few requests pays for none of them. Not thread-safe.
/// </summary>
/// <remarks>
/// Replies are still matched by req_id: anything else on the connection (a watch event of a watch registered with a
/// raw request) is dropped. A timeout closes the connection, as libxenstore leaves it unusable: a reply that comes
/// later must not be read as the answer to a later request, and a transaction it started must not outlive its caller
/// (the daemon ends a closed connection's transactions).
/// </remarks>
internal sealed unsafe class BlockingConnection : IDisposable
{
    private readonly IPolledTransport _transport;
    private readonly ClientCounters _counters = new();
    private readonly FrameReader _input = new();
    private uint _nextReqId;
    private XenstoreConnectionException? _failure;

    public BlockingConnection(IPolledTransport transport) => _transport = transport;

    public bool IsAlive => _failure is null;

    public XenstoreClientStatistics Statistics => new(0, _counters.RequestsSent, _counters.LateReplies,
        _counters.UnknownWatchEvents, 0, 0, 0);

    /// <summary>
    /// Sends one request and waits for its reply, at most <paramref name="timeout"/> in all. A reply of type ERROR is
    /// returned as is.
    /// </summary>
    public Reply Request(XsMessageType type, uint txId, ReadOnlySpan<byte> payload, TimeSpan timeout)
    {
        if (_failure is not null)
        {
            throw new XenstoreConnectionException(_failure.Message, outcomeUnknown: false, _failure);
        }
        long deadline = timeout == Timeout.InfiniteTimeSpan
            ? long.MaxValue
            : Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        do
        {
            _nextReqId++;
        }
        while (_nextReqId == 0);
        uint reqId = _nextReqId;
        byte[] frame = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(frame, type, reqId, txId, payload);
        Send(frame, deadline, type, timeout);
        return Receive(reqId, deadline, type, timeout);
    }

    private void Send(byte[] frame, long deadline, XsMessageType type, TimeSpan timeout)
    {
        int sent = 0;
        try
        {
            _counters.RequestsSent++;
            while (sent < frame.Length)
            {
                int now = _transport.Send(frame.AsSpan(sent));
                sent += now;
                if (now == 0 && !Wait(Libc.PollOut, deadline))
                {
                    // Nothing of it went out: the request was not sent, and the connection is still in step.
                    if (sent == 0)
                    {
                        _counters.RequestsSent--;
                        throw new XenstoreTimeoutException($"{type}: not sent within {timeout}", wasSent: false, Statistics);
                    }
                    throw Fail(new XenstoreTimeoutException($"{type}: not sent within {timeout}", wasSent: true, Statistics));
                }
            }
        }
        catch (IOException e)
        {
            throw Fail(new XenstoreConnectionException("write failed: " + e.Message, outcomeUnknown: sent > 0, e));
        }
    }

    private Reply Receive(uint reqId, long deadline, XsMessageType type, TimeSpan timeout)
    {
        try
        {
            while (true)
            {
                while (true)
                {
                    FrameStatus status = _input.TryTake(out XsHeader header, out byte[] payload);
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    if (status == FrameStatus.TooLarge)
                    {
                        throw Fail(new XenstoreConnectionException(
                            $"protocol error: the daemon sent a {header.Length}-byte payload", outcomeUnknown: true));
                    }
                    if (header.Type == XsMessageType.WatchEvent)
                    {
                        _counters.UnknownWatchEvents++;
                        continue;
                    }
                    if (header.ReqId != reqId)
                    {
                        _counters.LateReplies++;
                        continue;
                    }
                    return new Reply(header.Type, payload);
                }
                int read = _transport.Receive(_input.FreeSpace);
                if (read > 0)
                {
                    _input.Advance(read);
                    continue;
                }
                if (!Wait(Libc.PollIn, deadline))
                {
                    throw Fail(new XenstoreTimeoutException($"{type}: no reply within {timeout}", wasSent: true, Statistics));
                }
                _transport.OnReady();
            }
        }
        catch (IOException e)
        {
            throw Fail(new XenstoreConnectionException("read failed: " + e.Message, outcomeUnknown: true, e));
        }
    }

    /// <summary>Waits until the descriptor is ready for <paramref name="events"/>; false when the deadline passed.</summary>
    private bool Wait(short events, long deadline)
    {
        while (true)
        {
            int timeoutMs = -1;
            if (deadline != long.MaxValue)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }
                timeoutMs = (int)Math.Min(left, int.MaxValue);
            }
            var poll = new Libc.PollFd { Fd = _transport.Descriptor, Events = events };
            int ready = Libc.Poll(&poll, 1, timeoutMs);
            if (ready > 0)
            {
                return true;
            }
            if (ready < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR)
            {
                throw new IOException("poll: " + Libc.LastErrorText());
            }
        }
    }

    private XenstoreException Fail(XenstoreException reason)
    {
        _failure ??= reason as XenstoreConnectionException
            ?? new XenstoreConnectionException("the connection was closed after a timeout", outcomeUnknown: true, reason);
        _transport.Dispose();
        return reason;
    }

    public void Dispose()
    {
        _failure ??= new XenstoreConnectionException("the client was disposed");
        _transport.Dispose();
    }
}
