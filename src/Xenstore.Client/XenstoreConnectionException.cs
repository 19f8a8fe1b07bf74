namespace Xenstore.Client;

/// <summary>The connection could not be opened, or was lost while a request was queued or in flight.</summary>
public sealed class XenstoreConnectionException : XenstoreException
{
    /// <summary>Creates the exception.</summary>
    public XenstoreConnectionException(string message, bool outcomeUnknown = false, Exception? inner = null)
        : base(message, inner)
    {
        OutcomeUnknown = outcomeUnknown;
    }

    /// <summary>
    /// True when the request had been sent: the daemon may or may not have executed it. False means it was never
    /// sent and is safe to retry.
    /// </summary>
    public bool OutcomeUnknown { get; }
}
