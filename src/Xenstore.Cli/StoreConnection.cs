using Xenstore.Client;

namespace Xenstore.Cli;

/// <summary>
/// The connection a store tool works over. The one-shot tools (all but watch) take the blocking client: a hotplug
/// script starts hundreds of them per guest, and it starts no thread, timer or socket engine, so a read costs the
/// process start and one round trip. watch, and any tool acting as a guest over a simulated ring, take the
/// asynchronous client (watch events, the ring's notifications).
/// </summary>
internal sealed class StoreConnection : IAsyncDisposable
{
    private readonly XenstoreBlockingClient? _blocking;
    private readonly XenstoreClient? _client;

    private StoreConnection(XenstoreBlockingClient? blocking, XenstoreClient? client)
    {
        _blocking = blocking;
        _client = client;
    }

    /// <summary>The node operations outside any transaction.</summary>
    public XenstoreOperations Operations => (XenstoreOperations?)_blocking ?? _client!;

    /// <summary>The asynchronous client, for watches (opened with <c>watches: true</c>).</summary>
    public XenstoreClient Client => _client ?? throw new InvalidOperationException("this tool's connection has no watches");

    /// <exception cref="XenstoreConnectionException">No endpoint could be opened.</exception>
    public static async Task<StoreConnection> OpenAsync(XenstoreClientOptions options, bool watches)
    {
        if (watches || options.SimulatedRingDirectory is not null)
        {
            return new StoreConnection(null, await XenstoreClient.ConnectAsync(options).ConfigureAwait(false));
        }
        return new StoreConnection(XenstoreBlockingClient.Connect(options), null);
    }

    public async Task<XenstoreTransaction> BeginTransactionAsync() =>
        _blocking?.BeginTransaction() ?? await _client!.BeginTransactionAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        _blocking?.Dispose();
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }
}
