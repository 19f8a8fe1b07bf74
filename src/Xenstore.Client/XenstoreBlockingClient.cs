using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Client;

/// <summary>
/// A client for one caller that waits on its own thread for each reply: one request at a time, and nothing started
/// in the background — no thread, task, timer or socket engine. For short-lived programs that make a few requests
/// and exit (a hotplug script's <c>xenstore-read</c>), where starting those would cost more than the requests.
/// Its operations are those of <see cref="XenstoreClient"/> and return tasks that are already complete.
/// </summary>
/// <remarks>
/// It connects as <see cref="XenstoreClient"/> does (the same <see cref="XenstoreClientOptions.Path"/> and
/// candidates) to the daemon's socket or a xenbus device, not to a simulated guest ring. It has no watches and
/// never reconnects; <see cref="XenstoreClientOptions.RequestTimeout"/> bounds each request, and a timeout closes
/// the connection. Cancellation is looked at only before a request is sent. Not thread-safe.
/// </remarks>
public sealed class XenstoreBlockingClient : XenstoreOperations, IDisposable, IAsyncDisposable, ITransactionChannel
{
    private readonly BlockingConnection _connection;
    private readonly TimeSpan _timeout;
    private bool _disposed;

    private XenstoreBlockingClient(Endpoint endpoint, BlockingConnection connection, TimeSpan timeout)
    {
        Path = endpoint.Display;
        _connection = connection;
        _timeout = timeout;
    }

    /// <summary>The socket or device path this client is connected to.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override uint TransactionId => 0;

    /// <summary>True until the connection fails, times out or is disposed.</summary>
    public bool IsConnected => _connection.IsAlive;

    /// <summary>A snapshot of the client's counters (no watch or reconnection counts: it has neither).</summary>
    public XenstoreClientStatistics Statistics => _connection.Statistics;

    /// <summary>
    /// Connects, trying the candidates of <see cref="XenstoreEndpoint.Candidates"/> in order unless
    /// <see cref="XenstoreClientOptions.Path"/> is set; the error of the first candidate is reported when all fail.
    /// </summary>
    /// <exception cref="NotSupportedException"><see cref="XenstoreClientOptions.SimulatedRingDirectory"/> is set.</exception>
    public static XenstoreBlockingClient Connect(XenstoreClientOptions? options = null)
    {
        options ??= new XenstoreClientOptions();
        XenstoreConnectionException? first = null;
        foreach (Endpoint candidate in XenstoreClient.Endpoints(options))
        {
            try
            {
                IPolledTransport transport = Transport.OpenBlocking(candidate);
                return new XenstoreBlockingClient(candidate, new BlockingConnection(transport), options.RequestTimeout);
            }
            catch (XenstoreConnectionException e)
            {
                first ??= e;
            }
        }
        throw first ?? new XenstoreConnectionException("no Xenstore endpoint to try");
    }

    /// <summary>Connects to the socket or device at <paramref name="path"/>.</summary>
    public static XenstoreBlockingClient Connect(string path) => Connect(new XenstoreClientOptions { Path = path });

    /// <summary>Begins a transaction; its operations, commit and abort block like the client's.</summary>
    public XenstoreTransaction BeginTransaction() =>
        XenstoreTransaction.Started(this, Send(XsMessageType.TransactionStart, 0, "\0"u8));

    /// <summary>
    /// Sends one raw request and returns the raw reply (type and payload); ERROR replies are returned, not thrown.
    /// The payload is checked against the 4096-byte limit but not otherwise interpreted.
    /// </summary>
    public (XsMessageType Type, byte[] Payload) Request(XsMessageType type, ReadOnlySpan<byte> payload, uint transactionId = 0)
    {
        Payload.CheckSize(payload.Length, type.ToString(), null);
        Reply reply = Send(type, transactionId, payload);
        return (reply.Type, reply.Payload);
    }

    private protected override Task<Reply> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken) =>
        ((ITransactionChannel)this).SendAsync(type, 0, payload, cancellationToken);

    Task<Reply> ITransactionChannel.SendAsync(XsMessageType type, uint transactionId, byte[] payload,
        CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<Reply>(cancellationToken);
        }
        try
        {
            return Task.FromResult(Send(type, transactionId, payload));
        }
        catch (Exception e)
        {
            return Task.FromException<Reply>(e);
        }
    }

    private Reply Send(XsMessageType type, uint transactionId, ReadOnlySpan<byte> payload)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _connection.Request(type, transactionId, payload, _timeout);
    }

    /// <summary>Closes the connection; the daemon ends any transaction left open on it.</summary>
    public void Dispose()
    {
        _disposed = true;
        _connection.Dispose();
    }

    /// <inheritdoc cref="Dispose" />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
