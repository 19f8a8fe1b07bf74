namespace Xenstore.HostSim.Hotplug;

/// <summary>Where Xen's own hotplug scripts (Debian's xen-utils-common) are on this machine, if anywhere.</summary>
internal static class XenScripts
{
    /// <summary>The variable that names the directory explicitly.</summary>
    public const string DirectoryVariable = "XEN_HOTPLUG_SCRIPTS";

    /// <summary>
    /// <c>$XEN_HOTPLUG_SCRIPTS</c>, then an installed Xen's <c>/etc/xen/scripts</c>, then the copy the reference
    /// daemons' setup extracts (<c>$REFXS_HOME/root/etc/xen/scripts</c>, REFXS_HOME defaulting to /tmp/refxs);
    /// null when none holds both <c>vif-bridge</c> and <c>block</c>.
    /// </summary>
    public static string? Find()
    {
        string refxsHome = Environment.GetEnvironmentVariable("REFXS_HOME") is { Length: > 0 } home ? home : "/tmp/refxs";
        string?[] candidates =
        [
            Environment.GetEnvironmentVariable(DirectoryVariable),
            "/etc/xen/scripts",
            Path.Combine(refxsHome, "root", "etc", "xen", "scripts"),
        ];
        return candidates.FirstOrDefault(d => d is { Length: > 0 } && Holds(d));
    }

    /// <summary>Whether <paramref name="directory"/> has the two scripts the simulator runs.</summary>
    public static bool Holds(string directory) =>
        File.Exists(Path.Combine(directory, "vif-bridge")) && File.Exists(Path.Combine(directory, "block"));
}
