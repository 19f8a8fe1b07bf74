namespace Xenstore.Server.Hypervisor;

/// <summary>
/// Everything the daemon needs from the hypervisor to serve guests: map a guest's Xenstore page, bind and signal
/// event channels, learn of pending events, and ask whether a domain is shut down or dying. Two implementations:
/// real Xen (libxenevtchn, libxengnttab, libxenctrl) and a simulation on files and FIFOs.
/// </summary>
internal interface IHypervisor : IDisposable
{
    /// <summary>The local port that fires when any domain changes state (VIRQ_DOM_EXC).</summary>
    uint DomainExceptionPort { get; }

    /// <summary>Maps the 4 KiB interface page of a guest (grant ref 1, or the INTRODUCE gfn).</summary>
    GuestPage MapPage(uint domid, ulong gfn);

    /// <summary>Binds to the guest's unbound port; returns the daemon's local port.</summary>
    uint BindInterdomain(uint domid, uint remotePort);

    void Unbind(uint localPort);

    /// <summary>Signals the guest through the daemon's local port.</summary>
    void Notify(uint localPort);

    /// <summary>
    /// A descriptor that polls readable while events are pending: the store thread waits on it with the sockets, so
    /// a guest's notification reaches the thread that serves its ring without a hand-off.
    /// </summary>
    int EventDescriptor { get; }

    /// <summary>
    /// Takes pending events without blocking (call when <see cref="EventDescriptor"/> is readable): their local
    /// ports go into <paramref name="ports"/>, as many as fit; returns how many. A port may appear more than once.
    /// </summary>
    int TakePendingEvents(Span<uint> ports);

    /// <summary>Re-enables delivery on a port after it was handled.</summary>
    void Unmask(uint localPort);

    DomainState GetDomainState(uint domid);

    /// <summary>
    /// The domains that exist now and have a Xenstore page, for a daemon that introduces them itself at start (the
    /// Xenstore domain, as C 4.21+ does); empty where the hypervisor cannot enumerate them.
    /// </summary>
    IReadOnlyList<uint> ExistingDomains();
}

/// <summary>What the hypervisor says about a domain.</summary>
internal enum DomainState
{
    Running,
    Shutdown,
    Dying,
    Gone,
}
