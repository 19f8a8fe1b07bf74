namespace Xenstore.Protocol;

/// <summary>
/// Byte offsets of <c>struct xenstore_domain_interface</c>, the 4 KiB page shared with a guest
/// (docs/misc/xenstore-ring.txt). Indexes are free-running 32-bit counters; position = index &amp; (RingSize - 1).
/// </summary>
public static class RingLayout
{
    /// <summary>Bytes in each of the request and response rings.</summary>
    public const int RingSize = 1024;
    /// <summary>Offset of <c>req[]</c> (guest to daemon).</summary>
    public const int Request = 0;
    /// <summary>Offset of <c>rsp[]</c> (daemon to guest).</summary>
    public const int Response = 1024;
    /// <summary>Offset of <c>req_cons</c>.</summary>
    public const int RequestConsumer = 2048;
    /// <summary>Offset of <c>req_prod</c>.</summary>
    public const int RequestProducer = 2052;
    /// <summary>Offset of <c>rsp_cons</c>.</summary>
    public const int ResponseConsumer = 2056;
    /// <summary>Offset of <c>rsp_prod</c>.</summary>
    public const int ResponseProducer = 2060;
    /// <summary>Offset of <c>server_features</c>.</summary>
    public const int ServerFeatures = 2064;
    /// <summary>Offset of <c>connection</c> (0 connected, 1 reconnect requested).</summary>
    public const int Connection = 2068;
    /// <summary>Offset of <c>error</c> (0 none, 1 COMM, 2 RINGIDX, 3 PROTO).</summary>
    public const int Error = 2072;
    /// <summary>Offset of <c>evtchn_port</c> (set by Xen for dom0less guests).</summary>
    public const int EventChannelPort = 2076;
    /// <summary>Size of the whole page.</summary>
    public const int PageSize = 4096;
}
