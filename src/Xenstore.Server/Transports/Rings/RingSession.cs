using Xenstore.Server.Pipeline;
using Xenstore.Store;

namespace Xenstore.Server.Transports.Rings;

/// <summary>
/// One incarnation of a guest's connection as the store thread sees it. A ring reconnection starts a new session
/// (new connection id, no watches or transactions), so late output for the old one can never reach the guest.
/// The first session of a ring served again after a restart resumes what the guest had (<see cref="ConnectionKind.ResumedRing"/>).
/// </summary>
internal sealed class RingSession(int id, RingConnection ring, bool privileged, int eventLimit, ConnectionKind kind) : IClientConnection
{
    private int _outstanding;

    public int Id { get; } = id;

    public uint Domid => Ring.Domid;

    public bool Privileged { get; } = privileged;

    public ConnectionKind Kind { get; } = kind;

    public RingConnection Ring { get; } = ring;

    public OutputQueue Output { get; } = new(eventLimit);

    /// <summary>Requests handed to the store thread and not yet answered.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public void RequestPosted() => Interlocked.Increment(ref _outstanding);

    /// <summary>
    /// Only frees the request's slot. The reply is not takeable yet (it is published after the journal);
    /// <see cref="Flush"/> copies it into the ring once the batch is published.
    /// </summary>
    public void RequestCompleted() => Interlocked.Decrement(ref _outstanding);

    /// <summary>The batch's output is published: copied into the guest's page now (store thread).</summary>
    public void Flush() => Ring.Manager.Flush(Ring);

    public void Abort(string reason) => Ring.Manager.Detach(Ring.Domid, this);
}
