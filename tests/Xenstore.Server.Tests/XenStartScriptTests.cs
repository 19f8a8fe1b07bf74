using System.Diagnostics;
using System.Globalization;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Xen's own start-up path starts our daemon unchanged: Debian's <c>/etc/xen/scripts/launch-xenstore</c> (from
/// xen-utils-common, through refxs) with <c>XENSTORED=</c> our executable in <c>/etc/default/xencommons</c>. The
/// script runs in a private mount namespace whose <c>/etc</c> is an overlay holding the script, its
/// <c>hotplugpath.sh</c> and xencommons, and whose <c>/run</c> is a directory of the test: so the daemon listens on
/// the default <c>/var/run/xenstored/socket</c> and the script waits for <c>/var/run/xen/xenstored.pid</c>, as on
/// a Xen host, without touching this machine's.
/// </summary>
public sealed class XenStartScriptTests
{
    private static string Apphost => Path.Combine(Path.GetDirectoryName(OurDaemon.DaemonDll)!, "xenstored");

    private static string HardOpenFilesLimit() =>
        File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];

    [Fact]
    public async Task LaunchXenstore_StartsOurDaemon_AndThePidFileNamesTheServingProcess()
    {
        OurDaemon.RequireBuilt();
        string xenRoot = await ReferenceDaemon.XenPackagesRootOrSkipAsync();
        if (Environment.UserName != "root")
        {
            Assert.Skip("a private mount namespace needs root");
        }
        string dir = Directory.CreateTempSubdirectory("xs-launch-").FullName;
        string scripts = Path.Combine(dir, "upper", "xen", "scripts");
        Directory.CreateDirectory(scripts);
        Directory.CreateDirectory(Path.Combine(dir, "upper", "default"));
        Directory.CreateDirectory(Path.Combine(dir, "work"));
        Directory.CreateDirectory(Path.Combine(dir, "run"));
        foreach (string name in new[] { "launch-xenstore", "hotplugpath.sh" })
        {
            File.Copy(Path.Combine(xenRoot, "etc", "xen", "scripts", name), Path.Combine(scripts, name));
        }
        // The script raises the open-files limit to fs.nr_open unless told a number: a container may forbid that,
        // so it is told the limit this process has.
        File.WriteAllText(Path.Combine(dir, "upper", "default", "xencommons"),
            $"XENSTORED={Apphost}\nXENSTORED_ARGS=\"-E 500\"\nXENSTORED_MAX_OPEN_FDS={HardOpenFilesLimit()}\n");
        ProcessStartInfo info = InPrivateMountNamespace("sh", "-c",
            "mount -t overlay overlay -o lowerdir=/etc,upperdir=\"$0/upper\",workdir=\"$0/work\" /etc && mount --bind \"$0/run\" /run && exec /etc/xen/scripts/launch-xenstore", dir);
        int pid = 0;
        try
        {
            using Process launch = Process.Start(info)!;
            ProcessResult result = await ExternalProcess.CollectAsync(launch, TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, $"launch-xenstore failed ({result.ExitCode}): {result.StdOut} {result.StdErr}");
            Assert.Contains($"Starting {Apphost}", result.StdOut, StringComparison.Ordinal);
            pid = int.Parse(File.ReadAllText(Path.Combine(dir, "run", "xen", "xenstored.pid")).Trim(), CultureInfo.InvariantCulture);
            // The pid file names the daemon itself (not the command that started it), still running after the
            // script returned. (The script also sets its OOM score there, which a container may refuse.)
            Assert.Contains("xenstored", File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal);
            string socket = Path.Combine(dir, "run", "xenstored", "socket");
            await using (RawConnection client = await RawConnection.ConnectAsync(socket))
            {
                Assert.False((await client.WriteAsync("/local/domain/0/name", "Domain-0")).IsError);
                Assert.Equal("500", (await client.RequestAsync(Protocol.XsMessageType.GetQuota, RawPayload.Strings("nodes"))).Text);
            }
            // Started again while it runs, the script sees the pid file and leaves the daemon alone.
            using Process again = Process.Start(info)!;
            Assert.Equal(0, (await ExternalProcess.CollectAsync(again, TimeSpan.FromSeconds(60))).ExitCode);
            Assert.Equal(pid, int.Parse(File.ReadAllText(Path.Combine(dir, "run", "xen", "xenstored.pid")).Trim(), CultureInfo.InvariantCulture));
        }
        finally
        {
            await StopAndRemoveAsync(pid, dir);
        }
    }

    /// <summary>
    /// Debian's <c>/etc/init.d/xen</c> starts our daemon with its own <c>xenstored_start</c>, taken unchanged from
    /// the script: <c>start-stop-daemon</c> with the pid file <c>/run/xenstore.pid</c>, through <c>choom -n -1000</c>,
    /// then a wait for <c>xenstore-read -s /</c> and dom0's name written with <c>xenstore-write</c>. The rest of the
    /// script returns early on a machine that is not a Xen dom0 (it reads <c>/proc/xen/capabilities</c>, which no
    /// container can provide), so the function is what is run. A container also refuses an OOM score of -1000: in
    /// the test's mount namespace <c>/usr/bin/choom</c> is a stand-in that sets 0 instead and passes the rest on.
    /// </summary>
    [Fact]
    public async Task InitScriptXenstoredStart_StartsOurDaemon_WithItsPidFile_AndWritesDom0sName()
    {
        OurDaemon.RequireBuilt();
        string xenRoot = await ReferenceDaemon.XenPackagesRootOrSkipAsync();
        if (Environment.UserName != "root")
        {
            Assert.Skip("a private mount namespace needs root");
        }
        if (!File.Exists("/usr/bin/choom") || !File.Exists("/sbin/start-stop-daemon") || !File.Exists("/lib/lsb/init-functions"))
        {
            Assert.Skip("choom, start-stop-daemon and lsb-base are needed to run the init script's function");
        }
        string dir = Directory.CreateTempSubdirectory("xs-initd-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "run"));
        File.Copy("/usr/bin/choom", Path.Combine(dir, "choom.real"));
        File.WriteAllText(Path.Combine(dir, "choom"),
            $"#!/bin/sh\n# choom -n -1000 PROGRAM ...: a container refuses -1000, so 0 is set instead.\nshift 2\nexec {dir}/choom.real -n 0 \"$@\"\n");
        string script = $$"""
            set -u
            chmod 0755 "{{dir}}/choom"
            mount --bind "{{dir}}/choom" /usr/bin/choom
            mount --bind "{{dir}}/run" /run
            . /lib/lsb/init-functions
            eval "$(sed -n '/^xenstored_start()/,/^}/p' "{{xenRoot}}/etc/init.d/xen")"
            XENSTORED_DIR=/run/xenstored XENSTORED_PIDFILE=/run/xenstore.pid
            OXENSTORED=/nonexistent CXENSTORED=/nonexistent ROOT=/nonexistent
            XENSTORED="{{Apphost}}" XENSTORED_ARGS="-E 500"
            xenstored_start
            echo "started $?"
            """;
        ProcessStartInfo info = InPrivateMountNamespace("bash", "-c", script);
        int pid = 0;
        try
        {
            using Process start = Process.Start(info)!;
            ProcessResult result = await ExternalProcess.CollectAsync(start, TimeSpan.FromSeconds(90));
            Assert.True(result.StdOut.Contains("started 0", StringComparison.Ordinal), $"xenstored_start failed: {result.StdOut} {result.StdErr}");
            pid = int.Parse(File.ReadAllText(Path.Combine(dir, "run", "xenstore.pid")).Trim(), CultureInfo.InvariantCulture);
            Assert.Contains("xenstored", File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal);
            await using RawConnection client = await RawConnection.ConnectAsync(Path.Combine(dir, "run", "xenstored", "socket"));
            Assert.Equal("Domain-0", (await client.ReadAsync("/local/domain/0/name")).Text);
            Assert.Equal("500", (await client.RequestAsync(Protocol.XsMessageType.GetQuota, RawPayload.Strings("nodes"))).Text);
        }
        finally
        {
            await StopAndRemoveAsync(pid, dir);
        }
    }

    /// <summary>A command in a private mount namespace: what it mounts is seen by it and its children only.</summary>
    private static ProcessStartInfo InPrivateMountNamespace(params string[] command)
    {
        var info = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["-m", "--propagation", "private", .. command])
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    /// <summary>Stops the daemon a script started (when it did) and removes the test's directory.</summary>
    private static async Task StopAndRemoveAsync(int pid, string dir)
    {
        if (pid > 0)
        {
            using Process daemon = Process.GetProcessById(pid);
            daemon.Kill();
            await daemon.WaitForExitAsync();
        }
        Directory.Delete(dir, recursive: true);
    }
}
