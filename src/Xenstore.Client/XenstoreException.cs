namespace Xenstore.Client;

/// <summary>Base of every failure the client reports other than cancellation by the caller.</summary>
public abstract class XenstoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected XenstoreException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
