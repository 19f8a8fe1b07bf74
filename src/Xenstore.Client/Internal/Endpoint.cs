namespace Xenstore.Client.Internal;

/// <summary>How a connection reaches the daemon.</summary>
internal enum EndpointKind
{
    /// <summary>A Unix socket, or the xenbus device when the path is under /dev or /proc (as libxenstore decides).</summary>
    SocketOrDevice,

    /// <summary>A xenbus-style character device wherever it lives.</summary>
    Device,

    /// <summary>Guest <see cref="Endpoint.Domid"/>'s ring in a simulated hypervisor directory.</summary>
    SimulatedRing,
}

/// <summary>Where a connection (and every reconnection) goes.</summary>
internal sealed record Endpoint(EndpointKind Kind, string Path, uint Domid = 0)
{
    /// <summary>What <see cref="XenstoreClient.Path"/> reports: the socket, the device, or the ring's page file.</summary>
    public string Display => Kind == EndpointKind.SimulatedRing
        ? System.IO.Path.Combine(Path, "ring." + Domid.ToString(System.Globalization.CultureInfo.InvariantCulture))
        : Path;
}
