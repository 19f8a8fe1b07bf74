namespace Xenstore.Store;

/// <summary>How a connection relates to a restart of the daemon.</summary>
public enum ConnectionKind
{
    /// <summary>A socket or in-memory connection: it ends with the process, and so do its watches and transactions.</summary>
    Transient,

    /// <summary>
    /// A domain's ring (a guest's, or dom0's when the daemon is the Xenstore domain): the page outlives the process,
    /// so the connection's watches and open transactions are journalled under its domain.
    /// </summary>
    Ring,

    /// <summary>
    /// A ring served again after a restart: it takes over the watches and transactions recovered for its domain
    /// (a ring whose guest asked for a reconnection starts afresh as <see cref="Ring"/>).
    /// </summary>
    ResumedRing,
}
