using System.Reflection;
using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// P/Invoke declarations for the Xen control libraries a dom0 daemon uses. The library names are resolved to the
/// versioned sonames a dom0 has installed (the unversioned names exist only with the -dev packages).
/// </summary>
internal static unsafe partial class XenNative
{
    private const string Evtchn = "xenevtchn";
    private const string Gnttab = "xengnttab";
    private const string Ctrl = "xenctrl";

    public const int VirqDomExc = 3;
    public const uint GnttabReservedXenstore = 1;
    public const uint DomInfoDying = 1u << 0;
    public const uint DomInfoShutdown = 1u << 2;

    /// <summary>
    /// Bytes handed to libxenctrl for one <see cref="XenDomainInfo"/>: far more than the 112 of Xen 4.17 on x86_64,
    /// because arm64's is larger (120) and so may be a later release's, which the resolver below also loads. The
    /// fields read from it lead the struct in all of them.
    /// </summary>
    public const int DomainInfoBufferSize = 1024;

    static XenNative()
    {
        NativeLibrary.SetDllImportResolver(typeof(XenNative).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        // Libraries already in the process's global scope (stand-ins loaded with LD_PRELOAD) take precedence, as they
        // would for a C program linked against them.
        string probe = name switch
        {
            Evtchn => "xenevtchn_open",
            Gnttab => "xengnttab_open",
            Ctrl => "xc_interface_open",
            _ => "",
        };
        IntPtr main = NativeLibrary.GetMainProgramHandle();
        if (probe.Length > 0 && NativeLibrary.TryGetExport(main, probe, out _))
        {
            return main;
        }
        string[] candidates = name switch
        {
            Evtchn => ["libxenevtchn.so.1", "libxenevtchn.so"],
            Gnttab => ["libxengnttab.so.1", "libxengnttab.so"],
            Ctrl => ["libxenctrl.so", "libxenctrl.so.4.17", "libxenctrl.so.4.18", "libxenctrl.so.4.19", "libxenctrl.so.4.20", "libxenctrl.so.4.21", "libxenctrl.so.4.22"],
            _ => [],
        };
        foreach (string candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out IntPtr handle))
            {
                return handle;
            }
        }
        return IntPtr.Zero;
    }

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_open")]
    public static partial IntPtr EvtchnOpen(IntPtr logger, uint flags);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_close")]
    public static partial int EvtchnClose(IntPtr handle);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_fd")]
    public static partial int EvtchnFd(IntPtr handle);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_bind_virq")]
    public static partial int EvtchnBindVirq(IntPtr handle, uint virq);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_bind_interdomain")]
    public static partial int EvtchnBindInterdomain(IntPtr handle, uint domid, uint remotePort);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_unbind")]
    public static partial int EvtchnUnbind(IntPtr handle, uint port);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_notify")]
    public static partial int EvtchnNotify(IntPtr handle, uint port);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_pending")]
    public static partial int EvtchnPending(IntPtr handle);

    [LibraryImport(Evtchn, EntryPoint = "xenevtchn_unmask")]
    public static partial int EvtchnUnmask(IntPtr handle, uint port);

    [LibraryImport(Gnttab, EntryPoint = "xengnttab_open")]
    public static partial IntPtr GnttabOpen(IntPtr logger, uint flags);

    [LibraryImport(Gnttab, EntryPoint = "xengnttab_close")]
    public static partial int GnttabClose(IntPtr handle);

    [LibraryImport(Gnttab, EntryPoint = "xengnttab_map_grant_ref")]
    public static partial byte* GnttabMapGrantRef(IntPtr handle, uint domid, uint reference, int prot);

    [LibraryImport(Gnttab, EntryPoint = "xengnttab_unmap")]
    public static partial int GnttabUnmap(IntPtr handle, byte* address, uint count);

    [LibraryImport(Ctrl, EntryPoint = "xc_interface_open")]
    public static partial IntPtr CtrlOpen(IntPtr logger, IntPtr domLogger, uint flags);

    [LibraryImport(Ctrl, EntryPoint = "xc_interface_close")]
    public static partial int CtrlClose(IntPtr handle);

    [LibraryImport(Ctrl, EntryPoint = "xc_domain_getinfolist")]
    public static partial int CtrlDomainGetInfoList(IntPtr handle, uint firstDomain, uint maxDomains, XenDomainInfo* info);
}
