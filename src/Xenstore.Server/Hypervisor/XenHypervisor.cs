namespace Xenstore.Server.Hypervisor;

/// <summary>
/// Real Xen, as a dom0 daemon sees it: the guest page is grant reference 1 (GNTTAB_RESERVED_XENSTORE), mapped
/// with libxengnttab; event channels come from libxenevtchn, with VIRQ_DOM_EXC for domain state changes; domain
/// state comes from libxenctrl. Without Xen it is tested against stand-ins for these libraries, loaded with
/// LD_PRELOAD, that serve the layout of <see cref="SimulatedHypervisor"/>.
/// </summary>
internal sealed unsafe class XenHypervisor : IHypervisor
{
    private readonly IntPtr _evtchn;
    private readonly IntPtr _gnttab;
    private readonly IntPtr _ctrl;
    private readonly uint _virqPort;
    private volatile bool _closed;

    public XenHypervisor()
    {
        _evtchn = XenNative.EvtchnOpen(IntPtr.Zero, 0);
        _gnttab = XenNative.GnttabOpen(IntPtr.Zero, 0);
        _ctrl = XenNative.CtrlOpen(IntPtr.Zero, IntPtr.Zero, 0);
        if (_evtchn == IntPtr.Zero || _gnttab == IntPtr.Zero || _ctrl == IntPtr.Zero)
        {
            throw new IOException("cannot open the Xen event channel, grant table or control interface (not dom0?)");
        }
        int virq = XenNative.EvtchnBindVirq(_evtchn, XenNative.VirqDomExc);
        if (virq < 0)
        {
            throw new IOException("cannot bind VIRQ_DOM_EXC");
        }
        _virqPort = (uint)virq;
    }

    public uint DomainExceptionPort => _virqPort;

    /// <summary>
    /// Not enumerated: C 4.21+ uses libxenmanage for this, which the Xen 4.17 libraries this daemon binds to lack;
    /// the privileged domain is still introduced at start, the others by the toolstack's INTRODUCE.
    /// </summary>
    public IReadOnlyList<uint> ExistingDomains() => [];

    public GuestPage MapPage(uint domid, ulong gfn)
    {
        byte* page = XenNative.GnttabMapGrantRef(_gnttab, domid, XenNative.GnttabReservedXenstore, Libc.ProtReadWrite);
        if (page == null)
        {
            throw new IOException($"cannot map the Xenstore page of domain {domid}");
        }
        return new GuestPage(page, () => _ = XenNative.GnttabUnmap(_gnttab, page, 1));
    }

    public uint BindInterdomain(uint domid, uint remotePort)
    {
        int port = XenNative.EvtchnBindInterdomain(_evtchn, domid, remotePort);
        return port < 0 ? throw new IOException($"cannot bind event channel {remotePort} of domain {domid}") : (uint)port;
    }

    public void Unbind(uint localPort) => _ = XenNative.EvtchnUnbind(_evtchn, localPort);

    // A failed notification is not fatal: the guest also polls its ring.
    public void Notify(uint localPort) => _ = XenNative.EvtchnNotify(_evtchn, localPort);

    public int EventDescriptor => XenNative.EvtchnFd(_evtchn);

    /// <summary>
    /// One port per readiness: the device's read blocks when nothing is pending, so only the read that readiness
    /// promised is made; epoll reports the descriptor again while more are pending.
    /// </summary>
    public int TakePendingEvents(Span<uint> ports)
    {
        if (_closed || ports.IsEmpty)
        {
            return 0;
        }
        int port = XenNative.EvtchnPending(_evtchn);
        if (port < 0)
        {
            return 0;
        }
        ports[0] = (uint)port;
        return 1;
    }

    public void Unmask(uint localPort) => _ = XenNative.EvtchnUnmask(_evtchn, localPort);

    public DomainState GetDomainState(uint domid)
    {
        byte* buffer = stackalloc byte[XenNative.DomainInfoBufferSize];
        new Span<byte>(buffer, XenNative.DomainInfoBufferSize).Clear();
        var info = (XenDomainInfo*)buffer;
        int count = XenNative.CtrlDomainGetInfoList(_ctrl, domid, 1, info);
        if (count < 1 || info->Domain != domid)
        {
            return DomainState.Gone;
        }
        return (info->Flags & XenNative.DomInfoDying) != 0 ? DomainState.Dying
            : (info->Flags & XenNative.DomInfoShutdown) != 0 ? DomainState.Shutdown
            : DomainState.Running;
    }

    public void Dispose()
    {
        _closed = true;
        _ = XenNative.EvtchnClose(_evtchn);
        _ = XenNative.GnttabClose(_gnttab);
        _ = XenNative.CtrlClose(_ctrl);
    }
}
