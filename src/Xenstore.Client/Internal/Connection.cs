using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// One multiplexed connection, shaped like Linux's xenbus after its 4.11 rewrite: callers register a request under
/// a fresh req_id and queue it; one writer loop drains the queue into a single write; one reader loop matches
/// replies by req_id (never by position) and hands watch events to the sink. Completions run asynchronously, so
/// no user code ever runs on either loop.
/// </summary>
internal sealed class Connection : IAsyncDisposable
{
    private const int BatchLimit = 64 * 1024;

    private readonly Stream _stream;
    private readonly IWatchEventSink _events;
    private readonly ClientCounters _counters;
    private readonly int _maxInFlight;
    private readonly Channel<PendingRequest> _outbox =
        Channel.CreateUnbounded<PendingRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<uint, PendingRequest> _pending = new();
    private readonly SemaphoreSlim _window;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _writer;
    private readonly Task _reader;
    private Exception? _failure;
    private int _nextReqId;

    private Connection(Stream stream, int maxInFlight, IWatchEventSink events, ClientCounters counters, int generation,
        int firstReqId)
    {
        _nextReqId = firstReqId;
        _stream = stream;
        _events = events;
        _counters = counters;
        _maxInFlight = maxInFlight;
        _window = new SemaphoreSlim(maxInFlight, int.MaxValue);
        Generation = generation;
        _writer = Task.Run(WriteLoopAsync);
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Counts connections of one client, so transactions can tell they outlived theirs.</summary>
    public int Generation { get; }

    public bool IsAlive => Volatile.Read(ref _failure) is null;

    /// <summary>Completes when the connection has failed or was closed.</summary>
    public Task Closed => _closed.Task;

    public int InFlight => _pending.Count;

    public static async Task<Connection> OpenAsync(Endpoint endpoint, int maxInFlight, IWatchEventSink events,
        ClientCounters counters, int generation, TimeSpan handshakeTimeout, CancellationToken cancellationToken)
    {
        Stream stream = await Transport.OpenAsync(endpoint, handshakeTimeout, cancellationToken).ConfigureAwait(false);
        // A ring outlives its users: replies to an earlier user's requests may still arrive, so ids start at random
        // there rather than at 1.
        int firstReqId = endpoint.Kind == EndpointKind.SimulatedRing ? Random.Shared.Next() : 0;
        return new Connection(stream, maxInFlight, events, counters, generation, firstReqId);
    }

    /// <summary>
    /// Sends one request and waits for its reply. <paramref name="timeout"/> covers the wait for an in-flight slot
    /// too. A reply of type ERROR is returned as is: the caller turns it into an exception in its own context.
    /// </summary>
    public async Task<Reply> RequestAsync(XsMessageType type, uint txId, ReadOnlyMemory<byte> payload,
        TimeSpan timeout, Func<XenstoreClientStatistics> statistics, CancellationToken cancellationToken)
    {
        ThrowIfFailed(outcomeUnknown: false);
        long started = Stopwatch.GetTimestamp();
        if (!await _window.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new XenstoreTimeoutException($"{type}: no in-flight slot within {timeout}", wasSent: false, statistics());
        }
        PendingRequest request;
        try
        {
            request = Register(type, txId, payload.Span, holdsSlot: true);
        }
        catch
        {
            _window.Release();
            throw;
        }
        TimeSpan remaining = timeout == Timeout.InfiniteTimeSpan
            ? Timeout.InfiniteTimeSpan
            : timeout - Stopwatch.GetElapsedTime(started);
        if (remaining != Timeout.InfiniteTimeSpan && remaining < TimeSpan.Zero)
        {
            remaining = TimeSpan.Zero;
        }
        try
        {
            return await request.Task.WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            if (request.TryMove(PendingRequest.Queued, PendingRequest.Abandoned))
            {
                // Never written: withdraw it; the writer skips abandoned entries.
                if (_pending.TryRemove(request.ReqId, out _))
                {
                    _window.Release();
                }
                throw Translate(e, type, timeout, wasSent: false, statistics);
            }
            if (request.TryMove(PendingRequest.Sent, PendingRequest.Abandoned))
            {
                // Written: the reply will come; the reader absorbs it and frees the slot then.
                throw Translate(e, type, timeout, wasSent: true, statistics);
            }
            // The reply won the race: its result is there, so return it rather than losing it (a transaction
            // that started must not leak because its caller timed out a microsecond late).
            return await request.Task.ConfigureAwait(false);
        }
    }

    private static Exception Translate(Exception e, XsMessageType type, TimeSpan timeout, bool wasSent,
        Func<XenstoreClientStatistics> statistics) =>
        e is TimeoutException
            ? new XenstoreTimeoutException($"{type}: no reply within {timeout}", wasSent, statistics())
            : e;

    private PendingRequest Register(XsMessageType type, uint txId, ReadOnlySpan<byte> payload, bool holdsSlot)
    {
        uint reqId;
        do
        {
            // 0 is skipped only for readability of traces: events are told apart by type, not id.
            reqId = (uint)Interlocked.Increment(ref _nextReqId);
        }
        while (reqId == 0 || _pending.ContainsKey(reqId));
        byte[] frame = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(frame, type, reqId, txId, payload);
        var request = new PendingRequest(reqId, type, frame, holdsSlot);
        _pending[reqId] = request;
        if (!IsAlive || !_outbox.Writer.TryWrite(request))
        {
            if (_pending.TryRemove(reqId, out _))
            {
                ThrowIfFailed(outcomeUnknown: false);
                throw new XenstoreConnectionException("connection closed");
            }
            // Fail() took it and completes it with the connection error; the caller sees that.
        }
        return request;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new ArrayBufferWriter<byte>(BatchLimit);
        ChannelReader<PendingRequest> reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_shutdown.Token).ConfigureAwait(false))
            {
                batch.ResetWrittenCount();
                int count = 0;
                while (batch.WrittenCount < BatchLimit && reader.TryRead(out PendingRequest? request))
                {
                    if (!request.TryMove(PendingRequest.Queued, PendingRequest.Sent))
                    {
                        continue;
                    }
                    batch.Write(request.Frame);
                    count++;
                }
                if (count > 0)
                {
                    // Counted before the write: a reply can complete its caller before the write call returns.
                    Interlocked.Add(ref _counters.RequestsSent, count);
                    await _stream.WriteAsync(batch.WrittenMemory, _shutdown.Token).ConfigureAwait(false);
                    await _stream.FlushAsync(_shutdown.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            Fail(new XenstoreConnectionException("write failed: " + e.Message, outcomeUnknown: true, e));
        }
    }

    private async Task ReadLoopAsync()
    {
        byte[] buffer = new byte[64 * 1024];
        int start = 0;
        int end = 0;
        try
        {
            while (true)
            {
                int read = await _stream.ReadAsync(buffer.AsMemory(end), _shutdown.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    Fail(new XenstoreConnectionException("the daemon closed the connection", outcomeUnknown: true));
                    return;
                }
                end += read;
                while (true)
                {
                    FrameStatus status = FrameParser.TryParse(buffer.AsSpan(start, end - start), out XsHeader header, out int length);
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    if (status == FrameStatus.TooLarge)
                    {
                        Fail(new XenstoreConnectionException($"protocol error: the daemon sent a {header.Length}-byte payload", outcomeUnknown: true));
                        return;
                    }
                    Dispatch(header, buffer.AsSpan(start + XsConstants.HeaderSize, (int)header.Length));
                    start += length;
                }
                if (start == end)
                {
                    start = end = 0;
                }
                else if (buffer.Length - end < XsConstants.HeaderSize + XsConstants.PayloadMax)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Fail(new XenstoreConnectionException("read failed: " + e.Message, outcomeUnknown: true, e));
        }
    }

    private void Dispatch(XsHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.Type == XsMessageType.WatchEvent)
        {
            _events.OnWatchEvent(payload);
            return;
        }
        if (!_pending.TryRemove(header.ReqId, out PendingRequest? request))
        {
            // Nothing we sent has this id; drop it rather than die (pyxs issue #11).
            Interlocked.Increment(ref _counters.LateReplies);
            return;
        }
        if (request.HoldsSlot)
        {
            _window.Release();
        }
        var reply = new Reply(header.Type, payload.ToArray());
        if (request.TryMove(PendingRequest.Sent, PendingRequest.Completed))
        {
            request.Complete(reply);
            return;
        }
        Interlocked.Increment(ref _counters.LateReplies);
        if (request.Type == XsMessageType.TransactionStart && header.Type == XsMessageType.TransactionStart
            && PayloadArgs.TryGetSingle(reply.Payload, out ReadOnlySpan<byte> idText)
            && PayloadArgs.TryParseUInt32(idText, out uint txId))
        {
            // Nobody will ever end this transaction: abort it so it does not hold daemon quota.
            try
            {
                Register(XsMessageType.TransactionEnd, txId, "F\0"u8, holdsSlot: false);
            }
            catch (XenstoreConnectionException)
            {
                // Closing anyway: the daemon drops the transaction with the connection.
            }
        }
    }

    private void ThrowIfFailed(bool outcomeUnknown)
    {
        Exception? failure = Volatile.Read(ref _failure);
        if (failure is not null)
        {
            throw new XenstoreConnectionException(failure.Message, outcomeUnknown, failure);
        }
    }

    /// <summary>Marks the connection dead and fails everything pending. Idempotent.</summary>
    public void Fail(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is not null)
        {
            return;
        }
        _outbox.Writer.TryComplete();
        _shutdown.Cancel();
        _stream.Dispose();
        foreach (uint reqId in _pending.Keys)
        {
            if (!_pending.TryRemove(reqId, out PendingRequest? request))
            {
                continue;
            }
            bool wasSent = request.TryMove(PendingRequest.Sent, PendingRequest.Completed);
            bool wasQueued = !wasSent && request.TryMove(PendingRequest.Queued, PendingRequest.Completed);
            if (wasSent || wasQueued)
            {
                request.Fail(new XenstoreConnectionException(
                    wasSent ? "connection lost; the request's outcome is unknown" : "connection lost before the request was sent",
                    outcomeUnknown: wasSent, reason));
            }
        }
        // Wake callers waiting for a slot: they find the connection failed and throw.
        _window.Release(_maxInFlight);
        _closed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        Fail(new XenstoreConnectionException("the client was disposed"));
        try
        {
            await Task.WhenAll(_writer, _reader).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The loops end by failing; their errors were already reported through Fail.
        }
        _shutdown.Dispose();
    }
}
