namespace Xenstore.Client;

/// <summary>
/// A request did not complete within its timeout. If it had been sent, its outcome is unknown; a late reply is
/// absorbed by the client.
/// </summary>
public sealed class XenstoreTimeoutException : XenstoreException
{
    /// <summary>Creates the exception.</summary>
    public XenstoreTimeoutException(string message, bool wasSent, XenstoreClientStatistics statistics)
        : base($"{message} ({statistics})")
    {
        WasSent = wasSent;
        Statistics = statistics;
    }

    /// <summary>False when the request was still waiting for an in-flight slot and was never sent.</summary>
    public bool WasSent { get; }

    /// <summary>Queue depths at the time of the timeout, to tell a slow daemon from a congested client.</summary>
    public XenstoreClientStatistics Statistics { get; }
}
