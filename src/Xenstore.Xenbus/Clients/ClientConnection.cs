using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Xenbus.Clients;

/// <summary>
/// One local client's socket, a non-blocking descriptor served by the event loop's thread alone. Both sides are
/// bounded: the loop stops taking its requests while <see cref="MaxPendingRequests"/> of them are unanswered (as the
/// daemon stops reading a client), and a client whose queued output passes the limit is cut off rather than allowed
/// to hold memory or anybody else up.
/// </summary>
internal sealed class ClientConnection
{
    /// <summary>Requests of one client inside xenbusd at once.</summary>
    public const int MaxPendingRequests = 256;

    private readonly int _outputLimit;
    private readonly ILogger _logger;
    private readonly Action<ClientConnection> _changed;
    private readonly byte[] _scratch;
    private readonly FrameReader _input = new();
    private readonly Queue<byte[]> _output = new();
    private int _headSent;
    private long _queuedBytes;
    private int _pending;
    private bool _endOfInput;

    /// <param name="id">Its number (in its watches' upstream tokens and the log).</param>
    /// <param name="descriptor">The accepted socket, non-blocking.</param>
    /// <param name="outputLimit">Bytes of output queued at most.</param>
    /// <param name="scratch">The loop's buffer for gathering queued messages into one send (shared: one thread).</param>
    /// <param name="logger">Where closes are logged.</param>
    /// <param name="changed">Called (at most once until <see cref="Touched"/> is cleared) when the loop has work with it.</param>
    public ClientConnection(int id, int descriptor, int outputLimit, byte[] scratch, ILogger logger, Action<ClientConnection> changed)
    {
        _scratch = scratch;
        Id = id;
        Descriptor = descriptor;
        _outputLimit = outputLimit;
        _logger = logger;
        _changed = changed;
    }

    public int Id { get; }

    public int Descriptor { get; }

    public bool IsClosed { get; private set; }

    /// <summary>On the loop's list of clients to look at (output to flush, requests to take, a close).</summary>
    public bool Touched { get; set; }

    /// <summary>The epoll events the loop registered for it.</summary>
    public uint Interest { get; set; }

    /// <summary>What it should be polled for now: input while it may send more, output while some is queued.</summary>
    public uint WantedInterest =>
        (_pending < MaxPendingRequests && !_endOfInput ? Epoll.In : 0) | (_output.Count > 0 ? Epoll.Out : 0);

    /// <summary>Queues a reply or an event. Called by the multiplexer only; false when the client is (now) cut off.</summary>
    public bool Send(byte[] message)
    {
        if (IsClosed)
        {
            return false;
        }
        _output.Enqueue(message);
        _queuedBytes += message.Length;
        if (_queuedBytes > _outputLimit)
        {
            // Replies of one pass are normally sent at its end; past the limit, see whether the client takes them.
            Flush();
            if (!IsClosed && _queuedBytes > _outputLimit)
            {
                Close($"more than {_outputLimit} bytes of output queued (the client does not read)");
            }
            return !IsClosed;
        }
        Touch();
        return true;
    }

    /// <summary>One of its requests has been answered (or dropped): it may send another.</summary>
    public void RequestDone()
    {
        _pending--;
        if (_pending == MaxPendingRequests - 1)
        {
            Touch();
        }
    }

    public void Close(string reason)
    {
        if (IsClosed)
        {
            return;
        }
        IsClosed = true;
        _output.Clear();
        Log.ClientClosed(_logger, Id, reason);
        Touch();
    }

    /// <summary>The client closed its end: once its last requests are taken, it is closed here too.</summary>
    public bool EndOfInput => _endOfInput;

    /// <summary>
    /// Reads what the socket holds, as far as the input buffer has room. False at end of stream (the requests read
    /// before it are still to be taken) or when reading failed (the client is closed).
    /// </summary>
    public unsafe bool Receive()
    {
        while (!IsClosed)
        {
            Span<byte> free = _input.FreeSpace;
            if (free.IsEmpty)
            {
                return true;
            }
            nint read;
            fixed (byte* buffer = free)
            {
                read = Libc.Receive(Descriptor, buffer, free.Length, Libc.MsgDontWait);
            }
            if (read > 0)
            {
                _input.Advance((int)read);
                if (read < free.Length)
                {
                    return true;
                }
                continue;
            }
            if (read == 0)
            {
                _endOfInput = true;
                return false;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EAGAIN || errno == Errno.EINTR)
            {
                return true;
            }
            Close(Libc.LastErrorText());
            return false;
        }
        return false;
    }

    /// <summary>
    /// Hands its complete requests to <paramref name="request"/> while it has fewer than
    /// <see cref="MaxPendingRequests"/> unanswered; true when it handed any.
    /// </summary>
    public bool TakeRequests(Action<ClientConnection, XsHeader, byte[]> request)
    {
        bool took = false;
        while (!IsClosed && _pending < MaxPendingRequests)
        {
            FrameStatus status = _input.TryTake(out XsHeader header, out byte[] payload);
            if (status == FrameStatus.NeedMoreData)
            {
                break;
            }
            if (status == FrameStatus.TooLarge)
            {
                // As the daemon does on a socket: the stream cannot be resynchronised.
                Close($"a request announces a payload of {header.Length} bytes (at most {XsConstants.PayloadMax})");
                break;
            }
            _pending++;
            took = true;
            request(this, header, payload);
        }
        return took;
    }

    /// <summary>
    /// Sends what is queued, as far as the socket takes it now, in as few sends as the scratch buffer allows; a failed
    /// send closes the client.
    /// </summary>
    public unsafe void Flush()
    {
        while (_output.Count > 0 && !IsClosed)
        {
            ReadOnlySpan<byte> batch = Gather();
            nint sent;
            fixed (byte* data = batch)
            {
                sent = Libc.Send(Descriptor, data, batch.Length, Libc.MsgDontWait | Libc.MsgNoSignal);
            }
            if (sent < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }
                if (errno != Errno.EAGAIN)
                {
                    Close("write failed: " + Libc.LastErrorText());
                }
                return;
            }
            Consume((int)sent);
            if (sent < batch.Length)
            {
                return;
            }
        }
    }

    /// <summary>The queued bytes from the head on: the head itself when it is alone, else copied into the scratch buffer.</summary>
    private ReadOnlySpan<byte> Gather()
    {
        byte[] head = _output.Peek();
        if (_output.Count == 1 || head.Length - _headSent >= _scratch.Length)
        {
            return head.AsSpan(_headSent);
        }
        int used = 0;
        int skip = _headSent;
        foreach (byte[] message in _output)
        {
            int length = message.Length - skip;
            if (used + length > _scratch.Length)
            {
                break;
            }
            message.AsSpan(skip).CopyTo(_scratch.AsSpan(used));
            used += length;
            skip = 0;
        }
        return _scratch.AsSpan(0, used);
    }

    private void Consume(int sent)
    {
        while (sent > 0)
        {
            byte[] head = _output.Peek();
            int rest = head.Length - _headSent;
            if (sent < rest)
            {
                _headSent += sent;
                return;
            }
            sent -= rest;
            _output.Dequeue();
            _queuedBytes -= head.Length;
            _headSent = 0;
        }
    }

    private void Touch()
    {
        if (!Touched)
        {
            Touched = true;
            _changed(this);
        }
    }
}
