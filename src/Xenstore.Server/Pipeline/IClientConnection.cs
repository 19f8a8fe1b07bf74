using Xenstore.Store;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// A transport-side connection as the store thread sees it: where its output goes, and how to drop it.
/// Socket and ring connections implement it; the store thread cannot tell them apart.
/// </summary>
internal interface IClientConnection
{
    int Id { get; }

    /// <summary>The domain on the other end (0 for sockets).</summary>
    uint Domid { get; }

    /// <summary>Socket clients are dom0 and privileged.</summary>
    bool Privileged { get; }

    /// <summary>A ring's watches and transactions outlive the process; a socket's end with it.</summary>
    ConnectionKind Kind { get; }

    /// <summary>Queued replies and events; <see cref="Flush"/> sends what the batch published.</summary>
    OutputQueue Output { get; }

    /// <summary>Called on the store thread once per batch in which output was published (after the journal).</summary>
    void Flush();

    /// <summary>Called by the store thread when the store dropped this connection (e.g. domain release).</summary>
    void Abort(string reason);

    /// <summary>Requests received and not yet answered (a guest's ring; sockets execute requests as they are read).</summary>
    int Outstanding => 0;

    /// <summary>Called on the store thread after a request of this connection was processed: frees its slot.</summary>
    void RequestCompleted();
}
