namespace Xenstore.Server.Transports.Rings;

/// <summary>Work for the ring thread.</summary>
internal abstract record RingWork
{
    /// <summary>The hypervisor reported an event on a local port.</summary>
    public sealed record Event(uint Port) : RingWork;

    /// <summary>Map and serve a newly introduced (or re-introduced) domain.</summary>
    public sealed record Attach(Store.DomainIntroduction Domain, ManualResetEventSlim Done) : RingWork;

    /// <summary>Stop serving a domain (released, died); only if the given session is still current.</summary>
    public sealed record Detach(uint Domid, RingSession? Session) : RingWork;

    /// <summary>Output was published (or the ring needs looking at): try to make progress on this ring.</summary>
    public sealed record Wake(RingConnection Ring) : RingWork;

    /// <summary>Runs on the ring thread even while paused (live update).</summary>
    public sealed record Call(Action Action) : RingWork;
}
