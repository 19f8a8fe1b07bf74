using System.Net.Sockets;
using System.Threading.Channels;
using Xenstore.Protocol;

namespace Xenstore.TestKit;

/// <summary>
/// A deliberately thin Xenstore client for tests: it sends whatever bytes it is given (well-formed or not) over a
/// Unix socket (or an embedded server's in-memory stream) and records every message that comes back. A background reader splits the stream into messages;
/// WATCH_EVENTs go to <see cref="Events"/>, everything else to the reply queue that <see cref="RequestAsync"/>
/// consumes. Because the reader handles the stream in order, every event the daemon sent before a reply is in
/// <see cref="Events"/> by the time <see cref="RequestAsync"/> returns that reply (C xenstored sends a request's
/// own watch events before its reply).
/// </summary>
public sealed class RawConnection : IAsyncDisposable
{
    /// <summary>Generous: long enough for a loaded machine, short enough that a hung daemon fails a test quickly.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket? _socket;
    private readonly Stream? _stream;
    private readonly Channel<RawMessage> _replies = Channel.CreateUnbounded<RawMessage>();
    private readonly Channel<RawMessage> _events = Channel.CreateUnbounded<RawMessage>();
    private readonly List<RawMessage> _received = [];
    private readonly Task _reader;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private uint _nextReqId = 1;

    private RawConnection(Socket? socket, Stream? stream)
    {
        _socket = socket;
        _stream = stream;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Connects to a daemon's Unix socket (waiting out a full listen backlog).</summary>
    public static async Task<RawConnection> ConnectAsync(string socketPath) =>
        new(await UnixSocketConnector.ConnectAsync(socketPath).ConfigureAwait(false), null);

    /// <summary>A connection over a stream: an embedded server's in-memory connection.</summary>
    public static RawConnection Over(Stream stream) => new(null, stream);

    /// <summary>Connects to <paramref name="daemon"/> (in memory when it is embedded, else over its socket).</summary>
    public static Task<RawConnection> ConnectAsync(IDaemonUnderTest daemon) =>
        daemon is EmbeddedDaemon embedded ? Task.FromResult(Over(embedded.ConnectInMemory())) : ConnectAsync(daemon.SocketPath);

    /// <summary>
    /// Every message received so far (events and replies) in arrival order. A snapshot: safe to enumerate.
    /// </summary>
    public IReadOnlyList<RawMessage> Received
    {
        get
        {
            lock (_received)
            {
                return _received.ToArray();
            }
        }
    }

    /// <summary>Why the stream ended: null while open or after a clean EOF; the reason after a protocol violation.</summary>
    public string? ClosedReason { get; private set; }

    /// <summary>Sends raw bytes as they are: a partial header, a lying length, garbage.</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            while (!bytes.IsEmpty)
            {
                if (_stream is not null)
                {
                    await _stream.WriteAsync(bytes).ConfigureAwait(false);
                    break;
                }
                int sent = await _socket!.SendAsync(bytes, SocketFlags.None).ConfigureAwait(false);
                bytes = bytes[sent..];
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Sends one message built from <paramref name="header"/> and <paramref name="payload"/>. The header's length
    /// field is sent as given, so it may disagree with the payload on purpose.
    /// </summary>
    public Task SendAsync(XsHeader header, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[XsConstants.HeaderSize + payload.Length];
        header.Write(bytes);
        payload.CopyTo(bytes.AsSpan(XsConstants.HeaderSize));
        return SendRawAsync(bytes);
    }

    /// <summary>Sends a well-formed request without waiting for the reply; returns the request id used.</summary>
    public async Task<uint> SendRequestAsync(XsMessageType type, ReadOnlyMemory<byte> payload, uint txId = 0, uint? reqId = null)
    {
        uint id = reqId ?? Interlocked.Increment(ref _nextReqId);
        await SendAsync(new XsHeader(type, id, txId, (uint)payload.Length), payload.Span).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// Sends a request and returns the next message that is not a WATCH_EVENT. Events that arrive in between are
    /// queued in <see cref="Events"/>. Throws <see cref="TimeoutException"/> when nothing comes and
    /// <see cref="IOException"/> when the daemon closes the connection instead of replying.
    /// </summary>
    public async Task<RawMessage> RequestAsync(XsMessageType type, ReadOnlyMemory<byte> payload, uint txId = 0, uint? reqId = null, TimeSpan? timeout = null)
    {
        await SendRequestAsync(type, payload, txId, reqId).ConfigureAwait(false);
        return await NextReplyAsync(timeout).ConfigureAwait(false);
    }

    /// <summary>The next non-event message (for requests sent with <see cref="SendRequestAsync"/> or raw bytes).</summary>
    public async Task<RawMessage> NextReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _replies.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no reply within {timeout ?? DefaultTimeout}");
        }
        catch (ChannelClosedException)
        {
            throw new IOException("the daemon closed the connection" + (ClosedReason is null ? "" : ": " + ClosedReason));
        }
    }

    /// <summary>The reader side of the event queue (WATCH_EVENTs in arrival order).</summary>
    public ChannelReader<RawMessage> Events => _events.Reader;

    /// <summary>The next watch event, or null when none arrives within <paramref name="timeout"/> or the stream ends.</summary>
    public async Task<RawMessage?> NextEventAsync(TimeSpan? timeout = null)
    {
        if (_events.Reader.TryRead(out RawMessage? ready))
        {
            return ready;
        }
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _events.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>Removes and returns every event queued so far, without waiting.</summary>
    public IReadOnlyList<RawMessage> DrainEvents()
    {
        var list = new List<RawMessage>();
        while (_events.Reader.TryRead(out RawMessage? e))
        {
            list.Add(e);
        }
        return list;
    }

    /// <summary>
    /// A round trip (READ of <c>/</c>) that guarantees every event the daemon queued for this connection before it
    /// handled the round trip has arrived. Used to assert that an event did NOT fire without sleeping: a daemon
    /// that handles requests in order queues a watcher's events before it replies to the request that caused them.
    /// </summary>
    public Task SyncAsync() => RequestAsync(XsMessageType.Read, RawPayload.Strings("/"));

    /// <summary>
    /// True when the daemon closes the connection within <paramref name="timeout"/> (EOF, reset or a protocol
    /// violation from the daemon's side).
    /// </summary>
    public async Task<bool> IsClosedAsync(TimeSpan? timeout = null)
    {
        Task finished = await Task.WhenAny(_reader, Task.Delay(timeout ?? DefaultTimeout)).ConfigureAwait(false);
        return finished == _reader;
    }

    // ---- helpers for the common requests; each returns the raw reply so errors can be compared too ----

    public Task<RawMessage> ReadAsync(string path, uint txId = 0) => RequestAsync(XsMessageType.Read, RawPayload.Strings(path), txId);

    public Task<RawMessage> WriteAsync(string path, string value, uint txId = 0) => WriteAsync(path, RawPayload.Bytes(value), txId);

    public Task<RawMessage> WriteAsync(string path, byte[] value, uint txId = 0) => RequestAsync(XsMessageType.Write, RawPayload.Write(path, value), txId);

    public Task<RawMessage> MkdirAsync(string path, uint txId = 0) => RequestAsync(XsMessageType.Mkdir, RawPayload.Strings(path), txId);

    public Task<RawMessage> RmAsync(string path, uint txId = 0) => RequestAsync(XsMessageType.Rm, RawPayload.Strings(path), txId);

    public Task<RawMessage> DirectoryAsync(string path, uint txId = 0) => RequestAsync(XsMessageType.Directory, RawPayload.Strings(path), txId);

    public Task<RawMessage> GetPermsAsync(string path, uint txId = 0) => RequestAsync(XsMessageType.GetPerms, RawPayload.Strings(path), txId);

    /// <summary>SET_PERMS with entries such as <c>n0</c>, <c>r5</c>.</summary>
    public Task<RawMessage> SetPermsAsync(string path, params string[] perms) => SetPermsInTransactionAsync(0, path, perms);

    public Task<RawMessage> SetPermsInTransactionAsync(uint txId, string path, params string[] perms) =>
        RequestAsync(XsMessageType.SetPerms, RawPayload.Strings([path, .. perms]), txId);

    /// <summary>CONTROL with its arguments, waited for as long as a live update may take to answer.</summary>
    public Task<RawMessage> ControlAsync(params string[] args) =>
        RequestAsync(XsMessageType.Control, RawPayload.Strings(args), timeout: TimeSpan.FromSeconds(60));

    public Task<RawMessage> WatchAsync(string path, string token) => RequestAsync(XsMessageType.Watch, RawPayload.Strings(path, token));

    public Task<RawMessage> UnwatchAsync(string path, string token) => RequestAsync(XsMessageType.Unwatch, RawPayload.Strings(path, token));

    /// <summary>TRANSACTION_START; the reply's <see cref="RawMessage.TransactionId"/> is the new id.</summary>
    public Task<RawMessage> TransactionStartAsync(uint txId = 0) => RequestAsync(XsMessageType.TransactionStart, RawPayload.Strings(""), txId);

    public Task<RawMessage> TransactionEndAsync(uint txId, bool commit) => RequestAsync(XsMessageType.TransactionEnd, RawPayload.Strings(commit ? "T" : "F"), txId);

    /// <summary>Starts a transaction and returns its id, failing the test if the daemon refuses.</summary>
    public async Task<uint> StartTransactionIdAsync() => (await TransactionStartAsync().ConfigureAwait(false)).TransactionId;

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        int filled = 0;
        long sequence = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                int n = _stream is not null
                    ? await _stream.ReadAsync(buffer.AsMemory(filled), _stop.Token).ConfigureAwait(false)
                    : await _socket!.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    if (filled > 0)
                    {
                        ClosedReason = $"EOF inside a message ({filled} bytes pending)";
                    }
                    return;
                }
                filled += n;
                int consumed = 0;
                while (true)
                {
                    FrameStatus status = FrameParser.TryParse(buffer.AsSpan(consumed, filled - consumed), out XsHeader header, out int length);
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    if (status == FrameStatus.TooLarge)
                    {
                        // A daemon must never send more than 4096 payload bytes (the reply should have been E2BIG).
                        ClosedReason = $"daemon sent a {header.Type} with a {header.Length}-byte payload";
                        return;
                    }
                    var message = new RawMessage(header, buffer.AsSpan(consumed + XsConstants.HeaderSize, length - XsConstants.HeaderSize).ToArray(), sequence++);
                    consumed += length;
                    lock (_received)
                    {
                        _received.Add(message);
                    }
                    (header.Type == XsMessageType.WatchEvent ? _events : _replies).Writer.TryWrite(message);
                }
                if (consumed > 0)
                {
                    Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                    filled -= consumed;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
        catch (SocketException e)
        {
            ClosedReason = e.SocketErrorCode.ToString();
        }
        catch (ObjectDisposedException)
        {
            // Disposed.
        }
        finally
        {
            _replies.Writer.TryComplete();
            _events.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_socket is not null)
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already closed by the daemon.
            }
            _socket.Dispose();
        }
        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Expected on dispose.
        }
        _stop.Dispose();
        _sendLock.Dispose();
    }
}
