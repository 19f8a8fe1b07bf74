using System.Globalization;
using Xenstore.Client;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim.Toolstack;

internal sealed partial class Libxl
{
    private static readonly string[] s_controlNodes = ["shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq"];
    private static readonly string[] s_guestWritable = ["data", "drivers", "feature", "attr", "error"];

    /// <summary>
    /// <c>libxl__domain_make</c> (T1), <c>libxl__build_post</c> (T2), then INTRODUCE with the domain's store page
    /// and port. The domain's page exists before it is introduced, as the domain builder makes it.
    /// </summary>
    /// <param name="xl">The command's connection.</param>
    /// <param name="domain">The domain.</param>
    /// <param name="resume">
    /// The command runs again after the daemon's restart cut it off: the steps the daemon already committed (its
    /// answer lost) are not repeated.
    /// </param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task CreateDomainAsync(XenstoreClient xl, SimDomain domain, bool resume, CancellationToken cancellationToken)
    {
        bool introduced = resume && await xl.IsDomainIntroducedAsync((uint)domain.Domid, cancellationToken).ConfigureAwait(false);
        if (!introduced)
        {
            pages.CreatePage(domain.Domid);
        }
        if (!resume || await xl.TryReadAsync(domain.LibxlPath + "/type", cancellationToken).ConfigureAwait(false) is null)
        {
            await XenbusOps.TransactAsync(xl, counters, tx => DomainMakeAsync(xl, tx, domain, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        if (!resume || await xl.TryReadAsync(domain.Home + "/store/ring-ref", cancellationToken).ConfigureAwait(false) is null)
        {
            await XenbusOps.TransactAsync(xl, counters, tx => BuildPostAsync(tx, domain, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        if (!introduced)
        {
            await xl.IntroduceDomainAsync((uint)domain.Domid, SimulatedPages.StoreFrame(domain.Domid), SimulatedPages.StorePort,
                cancellationToken).ConfigureAwait(false);
        }
        domain.Introduced = true;
    }

    private static async Task<bool> DomainMakeAsync(XenstoreClient xl, XenstoreTransaction tx, SimDomain domain,
        CancellationToken cancellationToken)
    {
        int d = domain.Domid;
        string home = domain.Home;
        await XenbusOps.RemoveIfPresentAsync(tx, home, cancellationToken).ConfigureAwait(false);
        await XenbusOps.MknodAsync(tx, home, Perms.ReadOnly(d), cancellationToken).ConfigureAwait(false);
        await XenbusOps.RemoveIfPresentAsync(tx, domain.VmPath, cancellationToken).ConfigureAwait(false);
        await XenbusOps.MknodAsync(tx, domain.VmPath, Perms.ReadOnly(d), cancellationToken).ConfigureAwait(false);
        await XenbusOps.RemoveIfPresentAsync(tx, domain.LibxlPath, cancellationToken).ConfigureAwait(false);
        await XenbusOps.MknodAsync(tx, domain.LibxlPath, Perms.Dom0Only, cancellationToken).ConfigureAwait(false);
        await XenbusOps.MknodAsync(tx, domain.LibxlPath + "/device", Perms.Dom0Only, cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(home + "/vm", domain.VmPath, cancellationToken).ConfigureAwait(false);

        // libxl__domain_rename → libxl_name_to_domid: the name of every domain, read outside the transaction.
        await CheckNameUniqueAsync(xl, domain, cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(home + "/name", domain.Name, cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(domain.VmPath + "/name", domain.Name, cancellationToken).ConfigureAwait(false);

        foreach (string node in (string[])["cpu", "memory", "device"])
        {
            await XenbusOps.MknodAsync(tx, $"{home}/{node}", Perms.ReadOnly(d), cancellationToken).ConfigureAwait(false);
        }
        await XenbusOps.MknodAsync(tx, home + "/device/suspend/event-channel", Perms.ReadWrite(d), cancellationToken).ConfigureAwait(false);
        await XenbusOps.MknodAsync(tx, home + "/control", Perms.ReadOnly(d), cancellationToken).ConfigureAwait(false);
        foreach (string node in s_controlNodes)
        {
            await XenbusOps.MknodAsync(tx, $"{home}/control/{node}", Perms.ReadWrite(d), cancellationToken).ConfigureAwait(false);
        }
        foreach (string node in s_guestWritable)
        {
            await XenbusOps.MknodAsync(tx, $"{home}/{node}", Perms.ReadWrite(d), cancellationToken).ConfigureAwait(false);
        }
        if (domain.IsDriverDomain)
        {
            await XenbusOps.MknodAsync(tx, home + "/libxl", Perms.ReadWrite(d), cancellationToken).ConfigureAwait(false);
            await XenbusOps.MknodAsync(tx, home + "/device-model", Perms.ReadWrite(d), cancellationToken).ConfigureAwait(false);
        }
        await tx.WriteAsync(domain.VmPath + "/uuid", domain.Uuid.ToString("D"), cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(domain.VmPath + "/name", domain.Name, cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(home + "/control/platform-feature-multiprocessor-suspend", "1", cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(home + "/control/platform-feature-xs_reset_watches", "1", cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(domain.LibxlPath + "/type", "pv", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// The O(N) part of every creation: list the domains and read each one's name. A clash is a failure.
    /// </summary>
    private static async Task CheckNameUniqueAsync(XenstoreClient xl, SimDomain domain, CancellationToken cancellationToken)
    {
        foreach (string other in await XenbusOps.ListOrEmptyAsync(xl, "/local/domain", cancellationToken).ConfigureAwait(false))
        {
            if (other == domain.Domid.ToString(CultureInfo.InvariantCulture))
            {
                continue;
            }
            string? name = await XenbusOps.ReadOrNullAsync(xl, $"/local/domain/{other}/name", cancellationToken).ConfigureAwait(false);
            if (name == domain.Name)
            {
                throw new XenstoreProtocolException($"domain name {domain.Name} is already used by domain {other}");
            }
        }
    }

    private static async Task<bool> BuildPostAsync(XenstoreTransaction tx, SimDomain domain, CancellationToken cancellationToken)
    {
        string home = domain.Home;
        (string Path, string Value)[] nodes =
        [
            (home + "/memory/static-max", "262144"),
            (home + "/memory/target", "262144"),
            (home + "/memory/videoram", "-1"),
            (home + "/domid", domain.Domid.ToString(CultureInfo.InvariantCulture)),
            (home + "/store/port", SimulatedPages.StorePort.ToString(CultureInfo.InvariantCulture)),
            (home + "/store/ring-ref", SimulatedPages.StoreFrame(domain.Domid).ToString(CultureInfo.InvariantCulture)),
            (home + "/cpu/0/availability", "online"),
            (domain.VmPath + "/image/ostype", "linux"),
            (domain.VmPath + "/image/kernel", "/boot/vmlinuz"),
            (domain.VmPath + "/image/cmdline", "root=/dev/xvda ro"),
            (domain.VmPath + "/start_time", "1700000000.00"),
        ];
        foreach ((string path, string value) in nodes)
        {
            await tx.WriteAsync(path, value, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }
}
