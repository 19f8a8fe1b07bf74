using System.Diagnostics;

namespace Xenstore.TestKit;

/// <summary>
/// Debian's C xenstored or oxenstored, started through <c>../shared/refxs/refxs</c>. Tests that need one call
/// <see cref="StartOrSkipAsync"/>, which skips the test cleanly when refxs is not present.
/// </summary>
public sealed class ReferenceDaemon : IDaemonUnderTest
{
    private readonly string _pid;
    private readonly string _home;

    private ReferenceDaemon(string kind, string socketPath, string pid, string home)
    {
        Kind = kind;
        SocketPath = socketPath;
        _pid = pid;
        _home = home;
    }

    public string Kind { get; }

    public string SocketPath { get; }

    /// <summary>The REFXS_HOME of this instance (holds <c>rings/</c> when started with rings).</summary>
    public string Home => _home;

    public static bool Available => RepositoryPaths.RefxsScript is not null;

    /// <summary>Starts "c" or "ocaml"; skips the calling test when refxs is absent or cannot start.</summary>
    public static async Task<ReferenceDaemon> StartOrSkipAsync(string kind, bool rings = false, params string[] extraArgs)
    {
        string? script = RepositoryPaths.RefxsScript;
        if (script is null)
        {
            Assert.Skip("../shared/refxs is not present");
        }
        string home = await PrepareHomeAsync(script).ConfigureAwait(false);
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("start");
        info.ArgumentList.Add(kind);
        foreach (string arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["REFXS_HOME"] = home;
        if (rings)
        {
            info.Environment["REFXS_RINGS"] = "1";
        }
        using var process = Process.Start(info)!;
        string stdout = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        string stderr = await process.StandardError.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (process.ExitCode != 0 || lines.Length < 2)
        {
            Assert.Skip($"refxs could not start {kind}: {stderr.Trim()}");
        }
        string socketPath = lines[0].Trim();
        string pid = lines[^1].Trim();
        KillAtExit(pid);
        // refxs returns once the socket file exists, which is at bind(), before listen(): a connect in between is
        // refused.
        await SocketWait.UntilAcceptingAsync(socketPath, TimeSpan.FromSeconds(10), () => !Directory.Exists("/proc/" + pid)).ConfigureAwait(false);
        return new ReferenceDaemon(kind, socketPath, pid, home);
    }

    /// <summary>
    /// The root of Debian's extracted Xen packages (xen-utils-4.17, xen-utils-common: Xen's start scripts among
    /// them), set up through refxs; skips the calling test when refxs is absent.
    /// </summary>
    public static async Task<string> XenPackagesRootOrSkipAsync()
    {
        string? script = RepositoryPaths.RefxsScript;
        if (script is null)
        {
            Assert.Skip("../shared/refxs is not present");
        }
        string home = await PrepareHomeAsync(script).ConfigureAwait(false);
        Directory.Delete(home, recursive: true);
        string root = Path.Combine(SharedHome, "root");
        if (!File.Exists(Path.Combine(root, "etc/xen/scripts/launch-xenstore")))
        {
            Assert.Skip("refxs did not extract xen-utils-common");
        }
        return root;
    }

    /// <summary>
    /// Sets refxs up once in its default home, then gives this instance a home of its own (own sockets and rings)
    /// that links to the extracted packages, so no instance downloads them again.
    /// </summary>
    private static async Task<string> PrepareHomeAsync(string script)
    {
        await s_setupLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!File.Exists(Path.Combine(SharedHome, "fakexen.so")) || !File.Exists(Path.Combine(SharedHome, "root/usr/lib/xen-4.17/bin/xenstored")))
            {
                var info = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                info.ArgumentList.Add(script);
                info.ArgumentList.Add("setup");
                info.Environment["REFXS_HOME"] = SharedHome;
                using var setup = Process.Start(info)!;
                await setup.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
                await setup.StandardError.ReadToEndAsync().ConfigureAwait(false);
                await setup.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            s_setupLock.Release();
        }
        string home = Directory.CreateTempSubdirectory("refxs-").FullName;
        foreach (string name in new[] { "root", "debs", "fakexen.so" })
        {
            string target = Path.Combine(SharedHome, name);
            if (Path.Exists(target))
            {
                File.CreateSymbolicLink(Path.Combine(home, name), target);
            }
        }
        return home;
    }

    private const string SharedHome = "/tmp/refxs";

    private static readonly List<int> s_started = [];

    /// <summary>A reference daemon of a test that failed before stopping it must not outlive the test run.</summary>
    private static void KillAtExit(string pid)
    {
        if (!int.TryParse(pid, System.Globalization.CultureInfo.InvariantCulture, out int id))
        {
            return;
        }
        lock (s_started)
        {
            if (s_started.Count == 0)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    lock (s_started)
                    {
                        foreach (int started in s_started)
                        {
                            try
                            {
                                using Process process = Process.GetProcessById(started);
                                process.Kill();
                            }
                            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                            {
                                // Already stopped.
                            }
                        }
                    }
                };
            }
            s_started.Add(id);
        }
    }
    private static readonly SemaphoreSlim s_setupLock = new(1, 1);

    public async ValueTask DisposeAsync()
    {
        var info = new ProcessStartInfo("bash") { UseShellExecute = false };
        info.ArgumentList.Add(RepositoryPaths.RefxsScript!);
        info.ArgumentList.Add("stop");
        info.ArgumentList.Add(_pid);
        using var process = Process.Start(info)!;
        await process.WaitForExitAsync().ConfigureAwait(false);
    }
}
