using System.Diagnostics;

namespace Xenstore.HostSim.Hotplug;

/// <summary>
/// The directory the hotplug scripts run from, laid out once per runner: <c>scripts/</c> (Xen's own scripts with
/// their paths moved into this directory, or our reproductions), <c>bin/</c> (the <c>xenstore-*</c> links to the
/// chosen tools and the network stand-ins, first on the scripts' PATH), <c>run/</c> (the host-wide locks, such as
/// the <c>block</c> script's global one), <c>log/</c> (each run's stderr) and <c>launch</c>.
/// </summary>
internal sealed class ProcessHotplugStage
{
    private ProcessHotplugStage(string root, bool xenScripts, bool isolated)
    {
        Root = root;
        UsesXenScripts = xenScripts;
        CountsProcesses = isolated;
    }

    public string Root { get; }

    public string Bin => Path.Combine(Root, "bin");

    public string Scripts => Path.Combine(Root, "scripts");

    public string RunDirectory => Path.Combine(Root, "run");

    public string LogDirectory => Path.Combine(Root, "log");

    public string Launcher => Path.Combine(Root, "launch");

    /// <summary>Xen's own scripts run (rather than the reproductions).</summary>
    public bool UsesXenScripts { get; }

    /// <summary>
    /// Each run gets a process-id namespace of its own (<c>unshare --pid</c>, which needs root), which is how its
    /// processes are counted; without one the count is not known and reads 0.
    /// </summary>
    public bool CountsProcesses { get; }

    /// <summary>Where the shipped scripts and stand-ins are: next to the simulator's assembly.</summary>
    private static string Shipped => Path.Combine(AppContext.BaseDirectory, "hotplug-scripts");

    public static async Task<ProcessHotplugStage> CreateAsync(ProcessHotplugSettings settings, CancellationToken cancellationToken)
    {
        string root = Path.GetFullPath(settings.WorkDirectory);
        string? xen = settings.UseReproducedScripts ? null : settings.XenScriptsDirectory ?? XenScripts.Find();
        if (xen is not null && !XenScripts.Holds(xen))
        {
            throw new DirectoryNotFoundException($"{xen} does not hold Xen's vif-bridge and block scripts");
        }

        bool isolated = await NamespacesWorkAsync(cancellationToken).ConfigureAwait(false);
        var stage = new ProcessHotplugStage(root, xen is not null, isolated);
        foreach (string directory in new[] { stage.Bin, stage.Scripts, stage.RunDirectory, stage.LogDirectory, SimulatedDisk.Directory })
        {
            Directory.CreateDirectory(directory);
        }

        CopyExecutable(Path.Combine(Shipped, "launch"), stage.Launcher);
        foreach (string standIn in Directory.EnumerateFiles(Path.Combine(Shipped, "standins")))
        {
            CopyExecutable(standIn, Path.Combine(stage.Bin, Path.GetFileName(standIn)));
        }

        foreach (string tool in ProcessToolset.ToolNames)
        {
            string link = Path.Combine(stage.Bin, tool);
            File.Delete(link);
            File.CreateSymbolicLink(link, settings.Tools.Executable);
        }

        if (xen is null)
        {
            foreach (string script in Directory.EnumerateFiles(Path.Combine(Shipped, "reproduced")))
            {
                CopyExecutable(script, Path.Combine(stage.Scripts, Path.GetFileName(script)));
            }
        }
        else
        {
            stage.StageXenScripts(xen);
        }

        return stage;
    }

    /// <summary>
    /// Copies Xen's scripts unchanged except for where they keep things: <c>hotplugpath.sh</c> (the file the Xen
    /// build generates for the install's directories) is ours and points the tool directories at <c>bin/</c>, which
    /// the scripts put first on their PATH; the log, lock and hook directories written literally elsewhere move
    /// into this directory too, so that nothing on the machine's own /var or /etc is touched.
    /// </summary>
    private void StageXenScripts(string source)
    {
        foreach (string file in Directory.EnumerateFiles(source))
        {
            CopyExecutable(file, Path.Combine(Scripts, Path.GetFileName(file)));
        }

        File.WriteAllText(Path.Combine(Scripts, "hotplugpath.sh"), string.Join('\n',
            $"sbindir=\"{Bin}\"",
            $"bindir=\"{Bin}\"",
            $"LIBEXEC=\"{Root}\"",
            $"LIBEXEC_BIN=\"{Bin}\"",
            "SHAREDIR=\"/usr/share\"",
            $"XEN_CONFIG_DIR=\"{Root}\"",
            $"XEN_SCRIPT_DIR=\"{Scripts}\"",
            $"XEN_LOCK_DIR=\"{RunDirectory}\"",
            $"XEN_RUN_DIR=\"{RunDirectory}\"",
            $"XEN_LOG_DIR=\"{LogDirectory}\"",
            $"XEN_LIB_DIR=\"{Root}\"",
            $"XEN_RUN_STORED=\"{RunDirectory}\"",
            ""));
        Relocate("xen-hotplug-common.sh",
            ("2>>/var/log/xen/xen-hotplug.log", "2>>\"$HOSTSIM_HOTPLUG_LOG\""),
            ("/etc/xen/scripts/${1}-${2}.d", "${XEN_SCRIPT_DIR}/${1}-${2}.d"));
        Relocate("locking.sh", ("LOCK_BASEDIR=/var/run/xen-hotplug", "LOCK_BASEDIR=\"$XEN_RUN_DIR/xen-hotplug\""));
    }

    private void Relocate(string file, params (string From, string To)[] replacements)
    {
        string path = Path.Combine(Scripts, file);
        string text = File.ReadAllText(path);
        foreach ((string from, string to) in replacements)
        {
            if (!text.Contains(from, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{file} of this Xen version does not have '{from}' to move");
            }

            text = text.Replace(from, to, StringComparison.Ordinal);
        }

        File.WriteAllText(path, text);
    }

    private static void CopyExecutable(string from, string to)
    {
        File.Copy(from, to, overwrite: true);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("hotplug scripts run on Linux only");
        }

        File.SetUnixFileMode(to, File.GetUnixFileMode(to) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    private static async Task<bool> NamespacesWorkAsync(CancellationToken cancellationToken)
    {
        try
        {
            using Process probe = Process.Start(new ProcessStartInfo("unshare", ["--pid", "--fork", "true"])
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            await probe.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
