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
        var info = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { "-m", "--propagation", "private", "sh", "-c",
            "mount -t overlay overlay -o lowerdir=/etc,upperdir=\"$0/upper\",workdir=\"$0/work\" /etc && mount --bind \"$0/run\" /run && exec /etc/xen/scripts/launch-xenstore", dir })
        {
            info.ArgumentList.Add(arg);
        }
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
            if (pid > 0)
            {
                using Process daemon = Process.GetProcessById(pid);
                daemon.Kill();
                await daemon.WaitForExitAsync();
            }
            Directory.Delete(dir, recursive: true);
        }
    }
}
