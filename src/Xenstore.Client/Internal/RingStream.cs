using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// The guest side of a Xenstore ring as a byte stream: requests go into <c>req[]</c>, replies and watch events come
/// out of <c>rsp[]</c>, with free-running indexes, full barriers around every copy (docs/misc/xenstore-ring.txt),
/// a kick after every index update, and flow control when a ring is full. A non-zero <c>error</c> field fails the
/// stream; opening performs the RECONNECTION handshake when the daemon advertises it, so every connection starts
/// with empty rings and no watches or transactions left from an earlier user of the page.
/// </summary>
internal sealed class RingStream : DuplexStream, IPolledTransport
{
    /// <summary><c>XENSTORE_SERVER_FEATURE_RECONNECTION</c>.</summary>
    public const uint FeatureReconnection = 1;

    private readonly SharedPage _page;
    private readonly SimulatedEventChannel _events;
    private readonly Lock _gate = new();
    private bool _disposed;
    private int _idleLooks;
    private bool _receivedThisRound;

    private RingStream(SharedPage page, SimulatedEventChannel events)
    {
        _page = page;
        _events = events;
    }

    /// <summary>
    /// Maps <c>DIR/ring.N</c> and starts a session on it; <c>polled</c> is for a poll loop (<see cref="IPolledTransport"/>):
    /// then no thread reads the notifications.
    /// </summary>
    public static async Task<RingStream> OpenAsync(string directory, uint domid, TimeSpan handshakeTimeout,
        CancellationToken cancellationToken, bool polled = false)
    {
        SharedPage page = SharedPage.Open(Path.Combine(directory, $"ring.{domid}"));
        SimulatedEventChannel events;
        try
        {
            events = new SimulatedEventChannel(directory, domid, listen: !polled);
        }
        catch
        {
            page.Dispose();
            throw;
        }
        var stream = new RingStream(page, events);
        try
        {
            await stream.StartSessionAsync(handshakeTimeout, cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartSessionAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if ((_page.Read(RingLayout.ServerFeatures) & FeatureReconnection) == 0)
        {
            lock (_gate)
            {
                ThrowOnRingError();
                // Skip what an earlier user of the page left unread, as Linux's xb_init_comms does; req_ids never
                // collide with what is still in flight because each connection starts them at random.
                uint consumer = _page.Read(RingLayout.ResponseConsumer);
                uint producer = _page.Read(RingLayout.ResponseProducer);
                Interlocked.MemoryBarrier();
                if (producer == consumer || producer - consumer > RingLayout.RingSize)
                {
                    return;
                }
                _page.Write(RingLayout.ResponseConsumer, producer);
            }
            _events.Kick();
            return;
        }
        // Only the guest sets 1 and only the daemon sets 0; meanwhile everything else on the page is ignored.
        _page.Write(RingLayout.Connection, 1);
        Interlocked.MemoryBarrier();
        _events.Kick();
        long started = Environment.TickCount64;
        while (true)
        {
            Task signal = _events.NextSignal;
            if (_page.Read(RingLayout.Connection) == 0)
            {
                Interlocked.MemoryBarrier();
                return;
            }
            if (timeout != Timeout.InfiniteTimeSpan && Environment.TickCount64 - started > timeout.TotalMilliseconds)
            {
                throw new IOException("the daemon did not complete the ring reconnection");
            }
            await SimulatedEventChannel.WaitAsync(signal, TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int idle = 0;
        while (true)
        {
            Task signal = _events.NextSignal;
            int read = TryRead(buffer.Span);
            if (read > 0)
            {
                _events.Kick();
                return read;
            }
            await SimulatedEventChannel.WaitAsync(signal, _events.IdlePoll(idle++), cancellationToken).ConfigureAwait(false);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            Task signal = _events.NextSignal;
            int written = TryWrite(buffer.Span);
            if (written > 0)
            {
                buffer = buffer[written..];
                _events.Kick();
                continue;
            }
            // The ring is full: the daemon frees space as it reads, kicking or not.
            await SimulatedEventChannel.WaitAsync(signal, TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    int IPolledTransport.Descriptor => _events.NotificationDescriptor;

    bool IPolledTransport.PollsForOutput => false;

    /// <summary>As <see cref="SimulatedEventChannel.IdlePoll"/>: briskly at first, then less often while nothing comes.</summary>
    int IPolledTransport.LookAgainMs => (int)_events.IdlePoll(_idleLooks).TotalMilliseconds;

    void IPolledTransport.OnReady() => _events.DrainNotifications();

    int IPolledTransport.Receive(Span<byte> buffer)
    {
        int read = TryRead(buffer, out bool wasFull);
        if (read > 0)
        {
            if (wasFull)
            {
                // The daemon may be waiting for room in rsp[]. Otherwise it is not told, as Linux's xenbus does not
                // tell it: a notification per reply would wake it for nothing (it looks at rings with output left).
                _events.Kick();
            }
            _idleLooks = 0;
            _receivedThisRound = true;
        }
        else if (!_receivedThisRound)
        {
            _idleLooks++;
        }
        else
        {
            _receivedThisRound = false;
        }
        return read;
    }

    int IPolledTransport.Send(ReadOnlySpan<byte> data)
    {
        int written = TryWrite(data);
        if (written > 0)
        {
            _events.Kick();
        }
        return written;
    }

    /// <summary>Moves what <c>rsp[]</c> holds (up to the buffer's size) out of the ring; 0 when it is empty.</summary>
    private int TryRead(Span<byte> buffer) => TryRead(buffer, out _);

    private int TryRead(Span<byte> buffer, out bool wasFull)
    {
        wasFull = false;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ThrowOnRingError();
            uint consumer = _page.Read(RingLayout.ResponseConsumer);
            uint producer = _page.Read(RingLayout.ResponseProducer);
            Interlocked.MemoryBarrier();
            uint available = producer - consumer;
            if (available > RingLayout.RingSize)
            {
                throw new IOException($"the response ring's indexes are invalid (cons {consumer}, prod {producer})");
            }
            int count = (int)Math.Min(available, (uint)buffer.Length);
            if (count == 0)
            {
                return 0;
            }
            wasFull = available == RingLayout.RingSize;
            _page.CopyFrom(RingLayout.Response, consumer, buffer[..count]);
            Interlocked.MemoryBarrier();
            _page.Write(RingLayout.ResponseConsumer, consumer + (uint)count);
            return count;
        }
    }

    /// <summary>Puts as much of <paramref name="data"/> into <c>req[]</c> as fits; 0 when the ring is full.</summary>
    private int TryWrite(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ThrowOnRingError();
            uint consumer = _page.Read(RingLayout.RequestConsumer);
            uint producer = _page.Read(RingLayout.RequestProducer);
            Interlocked.MemoryBarrier();
            uint used = producer - consumer;
            if (used > RingLayout.RingSize)
            {
                throw new IOException($"the request ring's indexes are invalid (cons {consumer}, prod {producer})");
            }
            int count = Math.Min(RingLayout.RingSize - (int)used, data.Length);
            if (count == 0)
            {
                return 0;
            }
            _page.CopyTo(RingLayout.Request, producer, data[..count]);
            Interlocked.MemoryBarrier();
            _page.Write(RingLayout.RequestProducer, producer + (uint)count);
            return count;
        }
    }

    private void ThrowOnRingError()
    {
        uint error = _page.Read(RingLayout.Error);
        if (error != 0)
        {
            string name = error switch
            {
                1 => "XENSTORE_ERROR_COMM",
                2 => "XENSTORE_ERROR_RINGIDX",
                3 => "XENSTORE_ERROR_PROTO",
                _ => "unknown",
            };
            throw new IOException($"the daemon marked the ring broken (error {error}, {name})");
        }
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                _disposed = true;
                _page.Dispose();
            }
            _events.Dispose();
        }
        base.Dispose(disposing);
    }
}
