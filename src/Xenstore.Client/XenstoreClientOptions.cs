namespace Xenstore.Client;

/// <summary>How a <see cref="XenstoreClient"/> connects and how much it keeps in flight. Immutable; use <c>with</c>.</summary>
public sealed record XenstoreClientOptions
{
    /// <summary>
    /// The socket or device to use. Null means discover it like libxenstore (see <see cref="XenstoreEndpoint"/>).
    /// </summary>
    public string? Path { get; init; }

    /// <summary>
    /// Treat <see cref="Path"/> as a xenbus-style character device wherever it lives (without it, only paths under
    /// <c>/dev</c> or <c>/proc</c> are, as in libxenstore).
    /// </summary>
    public bool PathIsDevice { get; init; }

    /// <summary>
    /// Act as guest <see cref="Domid"/> over its ring in this simulated hypervisor directory (see
    /// <see cref="XenstoreClient.ConnectSimulatedGuestAsync"/>). Takes precedence over <see cref="Path"/>.
    /// </summary>
    public string? SimulatedRingDirectory { get; init; }

    /// <summary>The guest domain a <see cref="SimulatedRingDirectory"/> connection acts as.</summary>
    public uint Domid { get; init; }

    /// <summary>
    /// Requests sent but not yet answered, per connection. Callers beyond it wait (nothing is dropped).
    /// Gains flatten past ~64 on a socket. Neither a guest ring nor Linux's xenbus device limits it (the 1 KiB ring
    /// applies flow control; C xenstored stops reading a ring while a guest has 20 requests outstanding, which only
    /// delays the rest).
    /// </summary>
    /// <remarks>Defaults to 64.</remarks>
    public int MaxInFlight { get; init; } = 64;

    /// <summary>
    /// Time a request may take, including the wait for an in-flight slot. <see cref="Timeout.InfiniteTimeSpan"/>
    /// disables it.
    /// </summary>
    /// <remarks>Defaults to 30 seconds.</remarks>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Distinct paths each watch buffers before it reports an overflow.</summary>
    /// <remarks>Defaults to 1024.</remarks>
    public int WatchQueueCapacity { get; init; } = 1024;

    /// <summary>
    /// Merge an event into one already queued for the same path. Turn it off only when every event must be seen
    /// (as the <c>xenstore-watch</c> tool prints each one); the queue is still bounded.
    /// </summary>
    /// <remarks>Defaults to true.</remarks>
    public bool CoalesceWatchEvents { get; init; } = true;

    /// <summary>Attempts <see cref="XenstoreClient.RunTransactionAsync{T}"/> makes before giving up on EAGAIN.</summary>
    /// <remarks>Defaults to 16.</remarks>
    public int TransactionMaxAttempts { get; init; } = 16;

    /// <summary>
    /// Reconnect after the connection is lost, re-registering every watch. Requests whose outcome is unknown still
    /// fail; open transactions are lost. libxenstore never reconnects, so this is off by default.
    /// </summary>
    public bool AutoReconnect { get; init; }

    /// <summary>First delay between reconnection attempts; it doubles up to <see cref="ReconnectDelayMax"/>.</summary>
    public TimeSpan ReconnectDelayMin { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between reconnection attempts.</summary>
    public TimeSpan ReconnectDelayMax { get; init; } = TimeSpan.FromSeconds(5);
}
