using System.Net.Sockets;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>A complete message in a connection's receive buffer; its payload is valid until the next receive.</summary>
internal readonly record struct Frame(XsHeader Header, int PayloadOffset);

/// <summary>
/// One raw protocol connection over a Unix socket: requests are appended to a send buffer (so a window of them
/// leaves in one write), replies are parsed in place from a receive buffer. Used from one thread at a time.
/// </summary>
internal sealed class XsConnection : IDisposable
{
    private const int BufferSize = 256 * 1024;

    private readonly Socket _socket;
    // Pinned: a batching reactor hands them to the kernel (io_uring) while the collector may run.
    private readonly byte[] _rx = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    private readonly byte[] _tx = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    private int _rxStart;
    private int _rxEnd;
    private int _txLength;
    private bool _delivered;
    private uint _nextReqId = 1;

    private XsConnection(Socket socket) => _socket = socket;

    public static XsConnection Connect(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new XsConnection(socket);
    }

    /// <summary>The socket's file descriptor, for readiness polling.</summary>
    public int Fd => (int)_socket.SafeHandle.DangerousGetHandle();

    /// <summary>Bytes queued and not yet sent.</summary>
    public int PendingSend => _txLength;

    /// <summary>
    /// Set by a reactor that batches the sends of all its connections: <see cref="Flush"/> then leaves the bytes
    /// queued for it (<see cref="SendTarget"/>, <see cref="Sent"/>).
    /// </summary>
    public bool SendsBatched { get; set; }

    /// <summary>Where a batched receive should put its bytes (the free end of the receive buffer).</summary>
    public (byte[] Buffer, int Offset, int Count) ReceiveTarget()
    {
        Compact();
        return (_rx, _rxEnd, _rx.Length - _rxEnd);
    }

    /// <summary>
    /// A batched receive finished with <paramref name="result"/> (bytes, or a negated errno): the next
    /// <see cref="Receive"/> takes these bytes instead of calling the kernel. False when nothing arrived (EAGAIN).
    /// </summary>
    public bool Deliver(int result)
    {
        if (result == -11)
        {
            return false;
        }
        if (result == 0)
        {
            throw new ProtocolException("daemon closed the connection");
        }
        if (result < 0)
        {
            throw new ProtocolException($"receive failed: errno {-result}");
        }
        _rxEnd += result;
        _delivered = true;
        return true;
    }

    /// <summary>The queued bytes, for a batched send.</summary>
    public (byte[] Buffer, int Count) SendTarget() => (_tx, _txLength);

    /// <summary>A batched send finished: what it did not take is sent now, blocking.</summary>
    public void Sent(int result)
    {
        if (result < 0 && result != -11)
        {
            throw new ProtocolException($"send failed: errno {-result}");
        }
        SendFrom(Math.Max(0, result));
    }

    /// <summary>Appends one request to the send buffer and returns its req_id (never 0: events use 0).</summary>
    public uint Enqueue(XsMessageType type, uint txId, ReadOnlySpan<byte> payload)
    {
        if (_txLength + XsConstants.HeaderSize + payload.Length > _tx.Length)
        {
            SendAll();
        }
        uint reqId = _nextReqId++;
        if (_nextReqId == 0)
        {
            _nextReqId = 1;
        }
        _txLength += FrameParser.Write(_tx.AsSpan(_txLength), type, reqId, txId, payload);
        return reqId;
    }

    /// <summary>Appends one request whose payload is <c>a\0</c> or <c>a\0b</c> (b raw), without building it first.</summary>
    public uint Enqueue(XsMessageType type, uint txId, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool secondTerminated = false)
    {
        Span<byte> payload = stackalloc byte[first.Length + 1 + second.Length + (secondTerminated ? 1 : 0)];
        first.CopyTo(payload);
        payload[first.Length] = 0;
        second.CopyTo(payload[(first.Length + 1)..]);
        if (secondTerminated)
        {
            payload[^1] = 0;
        }
        return Enqueue(type, txId, payload);
    }

    public void Flush()
    {
        if (!SendsBatched)
        {
            SendAll();
        }
    }

    private void SendAll() => SendFrom(0);

    private void SendFrom(int sent)
    {
        while (sent < _txLength)
        {
            sent += _socket.Send(_tx.AsSpan(sent, _txLength - sent));
        }
        _txLength = 0;
    }

    public async ValueTask FlushAsync()
    {
        int sent = 0;
        while (sent < _txLength)
        {
            sent += await _socket.SendAsync(_tx.AsMemory(sent, _txLength - sent)).ConfigureAwait(false);
        }
        _txLength = 0;
    }

    /// <summary>Takes the next complete message out of the receive buffer, without any I/O.</summary>
    public bool TryTake(out Frame frame)
    {
        FrameStatus status = FrameParser.TryParse(_rx.AsSpan(_rxStart, _rxEnd - _rxStart), out XsHeader header, out int length);
        if (status == FrameStatus.TooLarge)
        {
            throw new ProtocolException($"reply header announces {header.Length} bytes");
        }
        if (status != FrameStatus.Complete)
        {
            frame = default;
            return false;
        }
        frame = new Frame(header, _rxStart + XsConstants.HeaderSize);
        _rxStart += length;
        return true;
    }

    public ReadOnlySpan<byte> Payload(in Frame frame) => _rx.AsSpan(frame.PayloadOffset, (int)frame.Header.Length);

    /// <summary>Blocks until more bytes arrive. Invalidates the payloads of frames taken before.</summary>
    public void Receive()
    {
        if (_delivered)
        {
            _delivered = false;
            return;
        }
        Compact();
        int n = _socket.Receive(_rx.AsSpan(_rxEnd));
        if (n == 0)
        {
            throw new ProtocolException("daemon closed the connection");
        }
        _rxEnd += n;
    }

    public async ValueTask ReceiveAsync(CancellationToken cancellationToken = default)
    {
        Compact();
        int n = await _socket.ReceiveAsync(_rx.AsMemory(_rxEnd), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            throw new ProtocolException("daemon closed the connection");
        }
        _rxEnd += n;
    }

    /// <summary>Blocking: the next message, receiving as needed.</summary>
    public Frame Next()
    {
        Frame frame;
        while (!TryTake(out frame))
        {
            Receive();
        }
        return frame;
    }

    public async ValueTask<Frame> NextAsync(CancellationToken cancellationToken = default)
    {
        Frame frame;
        while (!TryTake(out frame))
        {
            await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        }
        return frame;
    }

    private void Compact()
    {
        if (_rxStart == _rxEnd)
        {
            _rxStart = _rxEnd = 0;
        }
        else if (_rxStart > 0 && _rxEnd > _rx.Length - (XsConstants.HeaderSize + XsConstants.PayloadMax))
        {
            Buffer.BlockCopy(_rx, _rxStart, _rx, 0, _rxEnd - _rxStart);
            _rxEnd -= _rxStart;
            _rxStart = 0;
        }
    }

    public void Dispose() => _socket.Dispose();
}
