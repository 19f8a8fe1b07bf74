namespace Xenstore.Xenbus;

/// <summary>How xenbusd reaches the daemon.</summary>
internal enum UpstreamKind
{
    /// <summary>The daemon's Unix socket (for tests, and for a daemon that still has one).</summary>
    Socket,

    /// <summary>A xenbus-style character device (<c>/dev/xen/xenbus</c>).</summary>
    Device,

    /// <summary>Domain N's ring in a simulated hypervisor directory.</summary>
    SimulatedRing,
}

/// <summary>Everything the command line sets.</summary>
internal sealed record XenbusSettings
{
    public bool ShowHelp { get; init; }

    public bool Verbose { get; init; }

    public UpstreamKind Upstream { get; init; }

    /// <summary>The socket, the device, or the simulation directory.</summary>
    public string UpstreamPath { get; init; } = "";

    /// <summary>The domain xenbusd speaks as (its ring's domain; 0 for dom0).</summary>
    public uint Domain { get; init; }

    public string? SocketPath { get; init; }

    /// <summary>One request on the upstream at a time, as xenbus before Linux 4.11.</summary>
    public bool Serialize { get; init; }

    /// <summary>Requests in flight on the upstream at once; null: chosen by <see cref="Mux.Limits.For"/>.</summary>
    public int? MaxInFlight { get; init; }

    public int? MaxTransactions { get; init; }

    public int? MaxWatches { get; init; }

    /// <summary>Bytes of replies and events queued for one client before it is cut off.</summary>
    public int ClientQueueBytes { get; init; } = 1024 * 1024;

    /// <summary>How long the upstream may stay silent with requests in flight, or absent, before requests fail.</summary>
    public TimeSpan UpstreamTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the upstream session is checked for a daemon restart that kept the link.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a request may wait for a transaction slot another client holds.</summary>
    public TimeSpan AdmissionWait { get; init; } = TimeSpan.FromSeconds(5);
}
