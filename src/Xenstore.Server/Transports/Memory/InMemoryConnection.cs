using System.Threading.Channels;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Store;

namespace Xenstore.Server.Transports.Memory;

/// <summary>
/// A connection inside the daemon's process: the embedded server's transport, used by tests, benchmarks and fuzz
/// targets to reach the real store thread, batching and journal without a socket. The client side is a
/// <see cref="Stream"/>: requests written to it are framed as a socket's would be and posted to the store thread;
/// replies and events become readable once their batch is published, after the journal, like every transport's.
/// Its input is not bounded (its writer is a test or a benchmark in the same process, not a hostile client).
/// </summary>
internal sealed class InMemoryConnection : IClientConnection
{
    private readonly WorkQueue _queue;
    private readonly Channel<bool> _published = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _inputLock = new();
    private byte[] _input = new byte[2 * (XsConstants.HeaderSize + XsConstants.PayloadMax)];
    private int _inputLength;
    private volatile bool _closed;

    /// <summary>Closed by the server for an oversized frame: like a socket's, unsent output is gone with it.</summary>
    private volatile bool _cutOff;
    private readonly Lock _readLock = new();

    public InMemoryConnection(int id, uint domid, bool privileged, int eventLimit, WorkQueue queue)
    {
        Id = id;
        Domid = domid;
        Privileged = privileged;
        _queue = queue;
        Output = new OutputQueue(eventLimit);
        Stream = new InMemoryStream(this);
        queue.Post(StoreWork.Open(this));
    }

    public int Id { get; }

    public uint Domid { get; }

    public bool Privileged { get; }

    public ConnectionKind Kind => ConnectionKind.Transient;

    public OutputQueue Output { get; }

    /// <summary>The client's end.</summary>
    public Stream Stream { get; }

    public bool IsClosed => _closed;

    /// <summary>Store thread: the batch's output is published; a waiting reader can take it.</summary>
    public void Flush() => _published.Writer.TryWrite(true);

    /// <summary>In-memory clients have no outstanding-request quota.</summary>
    public void RequestCompleted()
    {
    }

    /// <summary>Store thread: the store dropped this connection; the reader sees the end after what was published.</summary>
    public void Abort(string reason)
    {
        _closed = true;
        _published.Writer.TryComplete();
    }

    /// <summary>Client side: frames the bytes and posts every complete request to the store thread.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_inputLock)
        {
            if (_closed)
            {
                throw new IOException("the connection is closed");
            }
            if (_inputLength + bytes.Length > _input.Length)
            {
                Array.Resize(ref _input, Math.Max(_inputLength + bytes.Length, _input.Length * 2));
            }
            bytes.CopyTo(_input.AsSpan(_inputLength));
            _inputLength += bytes.Length;
            if (ContainsOversizedFrame(_input.AsSpan(0, _inputLength)))
            {
                // Decided before any of these requests is posted, so the reader never sees their replies: as on a
                // socket, an oversized frame ends the connection at once and unsent replies go with it.
                lock (_readLock)
                {
                    _cutOff = true;
                }
            }
            int offset = 0;
            while (true)
            {
                FrameStatus status = FrameParser.TryParse(_input.AsSpan(offset, _inputLength - offset), out XsHeader header, out int length);
                if (status == FrameStatus.NeedMoreData)
                {
                    break;
                }
                if (status == FrameStatus.TooLarge)
                {
                    Close();
                    return;
                }
                byte[] payload = _input.AsSpan(offset + XsConstants.HeaderSize, length - XsConstants.HeaderSize).ToArray();
                _queue.Post(StoreWork.Request(this, header, payload));
                offset += length;
            }
            Buffer.BlockCopy(_input, offset, _input, 0, _inputLength - offset);
            _inputLength -= offset;
        }
    }

    /// <summary>Client side: takes published output into <paramref name="into"/>, waiting for some; 0 at the end.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> into, OutputCursor cursor, CancellationToken cancellationToken)
    {
        while (true)
        {
            int copied;
            lock (_readLock)
            {
                if (_cutOff)
                {
                    return 0;
                }
                copied = cursor.CopyTo(into.Span, Output);
            }
            if (copied > 0)
            {
                return copied;
            }
            if (!await _published.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                lock (_readLock)
                {
                    return _cutOff ? 0 : cursor.CopyTo(into.Span, Output);
                }
            }
            _published.Reader.TryRead(out _);
        }
    }

    private static bool ContainsOversizedFrame(ReadOnlySpan<byte> input)
    {
        while (true)
        {
            FrameStatus status = FrameParser.TryParse(input, out _, out int length);
            if (status != FrameStatus.Complete)
            {
                return status == FrameStatus.TooLarge;
            }
            input = input[length..];
        }
    }

    /// <summary>Client side: the client goes; the engine forgets the connection, its watches and transactions.</summary>
    public void Close()
    {
        if (!_closed)
        {
            _closed = true;
            _queue.Post(StoreWork.Close(this));
        }
        _published.Writer.TryComplete();
    }
}
