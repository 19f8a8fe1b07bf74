using System.Globalization;
using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Client;

/// <summary>
/// A Xenstore client: one connection shared by any number of concurrent callers, each request matched to its
/// reply by req_id, at most <see cref="XenstoreClientOptions.MaxInFlight"/> in flight. Thread-safe.
/// </summary>
public sealed partial class XenstoreClient : XenstoreOperations, IAsyncDisposable
{
    private readonly XenstoreClientOptions _options;
    private readonly Endpoint _endpoint;
    private readonly WatchRegistry _watches;
    private readonly CancellationTokenSource _disposed = new();
    private Connection _connection;
    private TaskCompletionSource<Connection>? _reconnected;
    private int _generation;

    private XenstoreClient(XenstoreClientOptions options, Endpoint endpoint, Connection connection, WatchRegistry watches)
    {
        _options = options;
        _endpoint = endpoint;
        _connection = connection;
        _watches = watches;
        _generation = connection.Generation;
        ObserveLoss(connection);
    }

    /// <summary>
    /// The socket or device path this client is connected to; for a simulated guest, the page file
    /// <c>DIR/ring.N</c>.
    /// </summary>
    public string Path => _endpoint.Display;

    /// <summary>The options the client was created with.</summary>
    public XenstoreClientOptions Options => _options;

    /// <inheritdoc />
    public override uint TransactionId => 0;

    /// <summary>True while the current connection is up.</summary>
    public bool IsConnected => Volatile.Read(ref _connection).IsAlive;

    /// <summary>
    /// Connects, trying the candidates of <see cref="XenstoreEndpoint.Candidates"/> in order unless
    /// <see cref="XenstoreClientOptions.Path"/> or <see cref="XenstoreClientOptions.SimulatedRingDirectory"/> is set.
    /// </summary>
    public static async Task<XenstoreClient> ConnectAsync(XenstoreClientOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new XenstoreClientOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxInFlight, 1);
        IReadOnlyList<Endpoint> candidates = Endpoints(options);
        XenstoreConnectionException? last = null;
        foreach (Endpoint candidate in candidates)
        {
            var sink = new WatchRegistry(options.WatchQueueCapacity, options.CoalesceWatchEvents);
            try
            {
                Connection connection = await Connection.OpenAsync(candidate, options.MaxInFlight, sink,
                    sink.Counters, generation: 1, HandshakeTimeout(options), cancellationToken).ConfigureAwait(false);
                return new XenstoreClient(options, candidate, connection, sink);
            }
            catch (XenstoreConnectionException e)
            {
                // libxenstore reports the error of the first candidate (the socket) when all fail.
                last ??= e;
            }
        }
        throw last ?? new XenstoreConnectionException("no Xenstore endpoint to try");
    }

    /// <summary>Connects to the socket or device at <paramref name="path"/>.</summary>
    public static Task<XenstoreClient> ConnectAsync(string path, CancellationToken cancellationToken = default) =>
        ConnectAsync(new XenstoreClientOptions { Path = path }, cancellationToken);

    /// <summary>
    /// Connects as guest <paramref name="domid"/> over its ring in a simulated hypervisor directory (the page
    /// <c>DIR/ring.N</c>, kicks through <c>DIR/evt</c>, notifications through <c>DIR/notify.N</c>), as served by
    /// <c>xenstored --sim-dir DIR</c>. The domain must have been introduced for the daemon to answer.
    /// </summary>
    /// <param name="directory">The simulated hypervisor directory.</param>
    /// <param name="domid">The guest domain to act as.</param>
    /// <param name="options">Other options; its endpoint settings are replaced.</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    public static Task<XenstoreClient> ConnectSimulatedGuestAsync(string directory, uint domid,
        XenstoreClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAsync((options ?? new XenstoreClientOptions()) with
        {
            Path = null,
            PathIsDevice = false,
            SimulatedRingDirectory = directory,
            Domid = domid,
        }, cancellationToken);

    /// <summary>
    /// Connects through a xenbus-style character device (Linux's <c>/dev/xen/xenbus</c>, or a stand-in for it) at
    /// any path: each message is written with a write() of its own and replies are read back from the same file.
    /// </summary>
    /// <param name="devicePath">The device file.</param>
    /// <param name="options">Other options; its endpoint settings are replaced.</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    public static Task<XenstoreClient> ConnectDeviceAsync(string devicePath, XenstoreClientOptions? options = null,
        CancellationToken cancellationToken = default) =>
        ConnectAsync((options ?? new XenstoreClientOptions()) with
        {
            Path = devicePath,
            PathIsDevice = true,
            SimulatedRingDirectory = null,
        }, cancellationToken);

    internal static IReadOnlyList<Endpoint> Endpoints(XenstoreClientOptions options)
    {
        if (options.SimulatedRingDirectory is not null)
        {
            return [new Endpoint(EndpointKind.SimulatedRing, options.SimulatedRingDirectory, options.Domid)];
        }
        EndpointKind kind = options.PathIsDevice ? EndpointKind.Device : EndpointKind.SocketOrDevice;
        IReadOnlyList<string> paths = options.Path is null ? XenstoreEndpoint.Candidates() : [options.Path];
        return [.. paths.Select(p => new Endpoint(kind, p))];
    }

    /// <summary>The ring reconnection handshake is bounded by the request timeout, or by 30 s when that is infinite.</summary>
    private static TimeSpan HandshakeTimeout(XenstoreClientOptions options) =>
        options.RequestTimeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(30) : options.RequestTimeout;

    /// <summary>A snapshot of the client's counters.</summary>
    public XenstoreClientStatistics Statistics
    {
        get
        {
            ClientCounters c = _watches.Counters;
            return new XenstoreClientStatistics(Volatile.Read(ref _connection).InFlight,
                Interlocked.Read(ref c.RequestsSent), Interlocked.Read(ref c.LateReplies),
                Interlocked.Read(ref c.UnknownWatchEvents), Interlocked.Read(ref c.CoalescedWatchEvents),
                Interlocked.Read(ref c.WatchOverflows), Interlocked.Read(ref c.Reconnects));
        }
    }

    private protected override Task<Reply> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken) =>
        SendOnAsync(null, type, 0, payload, _options.RequestTimeout, cancellationToken);

    /// <summary>
    /// Sends one raw request and returns the raw reply (type and payload); ERROR replies are returned, not thrown.
    /// The payload is checked against the 4096-byte limit but not otherwise interpreted.
    /// </summary>
    public async Task<(XsMessageType Type, byte[] Payload)> RequestAsync(XsMessageType type, ReadOnlyMemory<byte> payload,
        uint transactionId = 0, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        Payload.CheckSize(payload.Length, type.ToString(), null);
        Reply reply = await SendOnAsync(null, type, transactionId, payload,
            timeout ?? _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        return (reply.Type, reply.Payload);
    }

    /// <summary>
    /// Sends on <paramref name="pinned"/> (a transaction's connection) or on the current connection, waiting for a
    /// reconnection when that is enabled and under way.
    /// </summary>
    internal async Task<Reply> SendOnAsync(Connection? pinned, XsMessageType type, uint txId, ReadOnlyMemory<byte> payload,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        Connection connection = pinned ?? await CurrentConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (pinned is not null && !pinned.IsAlive)
        {
            throw new XenstoreConnectionException("the transaction's connection was lost");
        }
        return await connection.RequestAsync(type, txId, payload, timeout, () => Statistics, cancellationToken)
            .ConfigureAwait(false);
    }

    internal async ValueTask<Connection> CurrentConnectionAsync(CancellationToken cancellationToken)
    {
        Connection connection = Volatile.Read(ref _connection);
        if (connection.IsAlive || !_options.AutoReconnect)
        {
            return connection;
        }
        TaskCompletionSource<Connection>? waiter = Volatile.Read(ref _reconnected);
        if (waiter is null)
        {
            return connection;
        }
        return await waiter.Task.WaitAsync(_options.RequestTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Begins a transaction on the current connection. Prefer <see cref="RunTransactionAsync{T}"/>.</summary>
    public async Task<XenstoreTransaction> BeginTransactionAsync(CancellationToken cancellationToken = default)
    {
        Connection connection = await CurrentConnectionAsync(cancellationToken).ConfigureAwait(false);
        Reply reply = await SendOnAsync(connection, XsMessageType.TransactionStart, 0, "\0"u8.ToArray(),
            _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        return XenstoreTransaction.Started(new PinnedConnection(this, connection), reply);
    }

    /// <summary>A transaction's requests: on the connection it started on, with the client's timeout.</summary>
    private sealed class PinnedConnection(XenstoreClient client, Connection connection) : ITransactionChannel
    {
        public Task<Reply> SendAsync(XsMessageType type, uint transactionId, byte[] payload, CancellationToken cancellationToken) =>
            client.SendOnAsync(connection, type, transactionId, payload, client.Options.RequestTimeout, cancellationToken);
    }

    /// <summary>The home path of a domain, <c>/local/domain/&lt;domid&gt;</c>, as the daemon reports it.</summary>
    public async Task<string> GetDomainPathAsync(uint domid, CancellationToken cancellationToken = default)
    {
        byte[] reply = await CallAsync(XsMessageType.GetDomainPath,
            Internal.Payload.Strings("get domain path", domid.ToString(CultureInfo.InvariantCulture)),
            "get domain path", null, cancellationToken).ConfigureAwait(false);
        return Internal.Payload.SingleString(reply);
    }

    /// <summary>Whether the daemon knows domain <paramref name="domid"/>.</summary>
    public async Task<bool> IsDomainIntroducedAsync(uint domid, CancellationToken cancellationToken = default)
    {
        byte[] reply = await CallAsync(XsMessageType.IsDomainIntroduced,
            Internal.Payload.Strings("is domain introduced", domid.ToString(CultureInfo.InvariantCulture)),
            "is domain introduced", null, cancellationToken).ConfigureAwait(false);
        return Internal.Payload.SingleString(reply) == "T";
    }

    /// <summary>
    /// Sends a CONTROL command (<c>check</c>, <c>log</c>, <c>quota</c>, <c>help</c>, ...) with its arguments and
    /// returns the daemon's answer up to its first NUL, as <c>xs_control_command</c> does.
    /// </summary>
    public async Task<string> ControlAsync(string command, IReadOnlyList<string> arguments,
        CancellationToken cancellationToken = default)
    {
        var parts = new string[arguments.Count + 1];
        parts[0] = command;
        for (int i = 0; i < arguments.Count; i++)
        {
            parts[i + 1] = arguments[i];
        }
        byte[] reply = await CallAsync(XsMessageType.Control, Internal.Payload.Strings("control", parts), "control",
            command, cancellationToken).ConfigureAwait(false);
        return Internal.Payload.SingleString(reply);
    }

    /// <summary>Introduces a guest domain with its store ring frame and event channel (privileged).</summary>
    public Task IntroduceDomainAsync(uint domid, ulong storeFrame, uint eventChannel, CancellationToken cancellationToken = default) =>
        CallAsync(XsMessageType.Introduce, Internal.Payload.Strings("introduce",
            domid.ToString(CultureInfo.InvariantCulture), storeFrame.ToString(CultureInfo.InvariantCulture),
            eventChannel.ToString(CultureInfo.InvariantCulture)), "introduce", null, cancellationToken);

    /// <summary>Tells the daemon to forget a guest domain (privileged).</summary>
    public Task ReleaseDomainAsync(uint domid, CancellationToken cancellationToken = default) =>
        CallAsync(XsMessageType.Release, Internal.Payload.Strings("release", domid.ToString(CultureInfo.InvariantCulture)),
            "release", null, cancellationToken);

    private void ObserveLoss(Connection connection) =>
        _ = connection.Closed.ContinueWith(_ => OnConnectionLost(connection), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private void OnConnectionLost(Connection connection)
    {
        if (!_options.AutoReconnect || _disposed.IsCancellationRequested)
        {
            _watches.CompleteAll(new XenstoreConnectionException("connection lost"));
            return;
        }
        var waiter = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _reconnected, waiter);
        _ = Task.Run(() => ReconnectLoopAsync(waiter));
    }

    private async Task ReconnectLoopAsync(TaskCompletionSource<Connection> waiter)
    {
        TimeSpan delay = _options.ReconnectDelayMin;
        while (!_disposed.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, _disposed.Token).ConfigureAwait(false);
                int generation = Interlocked.Increment(ref _generation);
                Connection connection = await Connection.OpenAsync(_endpoint, _options.MaxInFlight, _watches,
                    _watches.Counters, generation, HandshakeTimeout(_options), _disposed.Token).ConfigureAwait(false);
                Volatile.Write(ref _connection, connection);
                ObserveLoss(connection);
                Interlocked.Increment(ref _watches.Counters.Reconnects);
                await _watches.ReregisterAllAsync(connection, _options.RequestTimeout, _disposed.Token).ConfigureAwait(false);
                waiter.TrySetResult(connection);
                return;
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (XenstoreException)
            {
                TimeSpan doubled = delay * 2;
                delay = doubled > _options.ReconnectDelayMax ? _options.ReconnectDelayMax : doubled;
                // Jitter keeps many clients of a restarted daemon from reconnecting in lockstep.
                delay += TimeSpan.FromMilliseconds(Random.Shared.Next(0, 50));
            }
        }
        waiter.TrySetException(new XenstoreConnectionException("the client was disposed"));
    }

    /// <summary>Closes the connection. Pending requests fail with <see cref="XenstoreConnectionException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }
        await _disposed.CancelAsync().ConfigureAwait(false);
        _watches.CompleteAll(null);
        await Volatile.Read(ref _connection).DisposeAsync().ConfigureAwait(false);
        _disposed.Dispose();
    }
}
