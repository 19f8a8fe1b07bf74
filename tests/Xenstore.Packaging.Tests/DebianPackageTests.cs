using System.Diagnostics;
using Xenstore.TestKit;

namespace Xenstore.Packaging.Tests;

/// <summary>
/// The Debian package installs, runs and removes cleanly: dpkg -i, the daemon started by Xen's own
/// <c>launch-xenstore</c> as it would be on a host, the installed tools against it, dpkg -r giving xenstore-utils'
/// programs back, and dpkg -P removing the settings. The cycle runs in a private mount namespace
/// (<c>package-cycle.sh</c>), so this machine's dpkg database and tools are untouched.
/// </summary>
public sealed class DebianPackageTests
{
    private static readonly string[] Steps = ["installed", "diverted", "manuals", "launched", "tools", "removed", "purged"];

    [Fact]
    public async Task Package_Installs_StartsThroughLaunchXenstore_ServesTheInstalledTools_AndRemovesCleanly()
    {
        if (Environment.UserName != "root")
        {
            Assert.Skip("dpkg and a private mount namespace need root");
        }
        string deb = await PackageAsync();
        string xenRoot = await ReferenceDaemon.XenPackagesRootOrSkipAsync();
        string work = Directory.CreateTempSubdirectory("xs-package-").FullName;
        try
        {
            var info = new ProcessStartInfo("unshare")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { "-m", "--propagation", "private", "sh",
                Path.Combine(AppContext.BaseDirectory, "package-cycle.sh"), work, deb, xenRoot })
            {
                info.ArgumentList.Add(arg);
            }
            using Process cycle = Process.Start(info)!;
            ProcessResult result = await ExternalProcess.CollectAsync(cycle, TimeSpan.FromMinutes(5));
            string[] reached = result.StdOut.Split('\n')
                .Where(l => l.StartsWith("ok ", StringComparison.Ordinal)).Select(l => l[3..]).ToArray();
            Assert.True(result.ExitCode == 0 && reached.SequenceEqual(Steps),
                $"package cycle stopped after [{string.Join(", ", reached)}] (exit {result.ExitCode}):\n{result.StdOut}\n{result.StdErr}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The package scripts/test-native built (<c>XS_DEB</c>), or one built now from the tree.</summary>
    private static async Task<string> PackageAsync()
    {
        string? given = Environment.GetEnvironmentVariable("XS_DEB");
        if (!string.IsNullOrEmpty(given))
        {
            return Path.GetFullPath(given);
        }
        var info = new ProcessStartInfo(Path.Combine(RepositoryPaths.Root, "packaging", "build-deb"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        using Process build = Process.Start(info)!;
        ProcessResult result = await ExternalProcess.CollectAsync(build, TimeSpan.FromMinutes(15));
        Assert.True(result.ExitCode == 0, $"packaging/build-deb failed: {result.StdErr}");
        return Path.Combine(RepositoryPaths.Root, result.StdOut.Trim().Split('\n')[^1]);
    }
}
