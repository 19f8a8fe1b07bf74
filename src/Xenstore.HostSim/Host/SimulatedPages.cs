using System.Buffers.Binary;
using System.Globalization;
using Xenstore.Protocol;

namespace Xenstore.HostSim.Host;

/// <summary>
/// The hypervisor's part of the simulated host, in the directory both our daemon (<c>--sim-dir</c>) and refxs
/// (<c>REFXS_RINGS=1</c>) use: a domain's store page is <c>ring.N</c>; its death is <c>dying.N</c> plus port 1
/// (VIRQ_DOM_EXC) written to the FIFO <c>evt</c>.
/// </summary>
internal sealed class SimulatedPages(string directory)
{
    /// <summary>The store page's frame number libxl writes as <c>store/ring-ref</c> and passes to INTRODUCE.</summary>
    public static ulong StoreFrame(int domid) => 0xfefff000UL + (ulong)domid;

    /// <summary>The store event channel's port in the guest.</summary>
    public const uint StorePort = 1;

    /// <summary>The domain builder's part: a zeroed store page before the toolstack introduces the domain.</summary>
    public void CreatePage(int domid)
    {
        File.Delete(PathOf("dying", domid));
        using var page = new FileStream(PathOf("ring", domid), FileMode.Create, FileAccess.ReadWrite);
        page.SetLength(RingLayout.PageSize);
    }

    /// <summary><c>xc_domain_destroy</c>: the domain is dead; the daemon hears of it through VIRQ_DOM_EXC.</summary>
    public void Kill(int domid)
    {
        File.WriteAllBytes(PathOf("dying", domid), []);
        Span<byte> port = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(port, 1);
        using var fifo = new FileStream(Path.Combine(directory, "evt"), FileMode.Open, FileAccess.Write);
        fifo.Write(port);
    }

    /// <summary>Removes a dead domain's files once the daemon has released it.</summary>
    public void Forget(int domid)
    {
        File.Delete(PathOf("ring", domid));
        File.Delete(PathOf("dying", domid));
    }

    private string PathOf(string kind, int domid) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"{kind}.{domid}"));
}
