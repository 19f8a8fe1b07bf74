using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// <c>xc_domaininfo_t</c>, which is <c>struct xen_domctl_getdomaininfo</c> (xen/include/public/domctl.h of Xen 4.17,
/// domctl interface version 0x15), as x86_64 lays it out: 112 bytes. Only the architecture part at the end differs
/// on arm64 (12 bytes there, 120 in all), so every field before it holds on both; <see cref="XenNative.DomainInfoBufferSize"/>
/// says how much room the call gets.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct XenDomainInfo
{
    public ushort Domain;
    public ushort Pad1;

    /// <summary><c>XEN_DOMINF_*</c>: <see cref="XenNative.DomInfoDying"/>, <see cref="XenNative.DomInfoShutdown"/> and others.</summary>
    public uint Flags;

    public ulong TotPages;
    public ulong MaxPages;
    public ulong OutstandingPages;
    public ulong ShrPages;
    public ulong PagedPages;
    public ulong SharedInfoFrame;
    public ulong CpuTime;
    public uint NrOnlineVcpus;
    public uint MaxVcpuId;
    public uint SsidRef;
    public fixed byte Handle[16];
    public uint CpuPool;
    public byte GpaddrBits;
    public fixed byte Pad2[7];
    public XenX86ArchDomainConfig ArchConfig;
}

/// <summary><c>struct xen_arch_domainconfig</c> of x86 (xen/include/public/arch-x86/xen.h): 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct XenX86ArchDomainConfig
{
    public uint EmulationFlags;
    public uint MiscFlags;
}
