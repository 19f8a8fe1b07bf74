using System.Diagnostics;

namespace Xenstore.TestKit;

/// <summary>
/// A reference daemon: Debian's C xenstored 4.17 or oxenstored, started through <c>../shared/refxs/refxs</c>, or
/// upstream C xenstored 4.22.0 through <c>../shared/refxs-new/refxs-new</c>. Tests that need one call
/// <see cref="StartOrSkipAsync"/>, which skips the test cleanly when that reference is not present.
/// </summary>
public sealed class ReferenceDaemon : IDaemonUnderTest
{
    private readonly string _pid;
    private readonly string _home;
    private readonly string _script;

    private ReferenceDaemon(string kind, string socketPath, string pid, string home, string script)
    {
        Kind = kind;
        SocketPath = socketPath;
        _pid = pid;
        _home = home;
        _script = script;
    }

    public string Kind { get; }

    public string SocketPath { get; }

    /// <summary>The REFXS_HOME of this instance (holds <c>rings/</c> when started with rings).</summary>
    public string Home => _home;

    /// <summary>Whether Debian's reference daemons (<c>../shared/refxs</c>) are present.</summary>
    public static bool Available => RepositoryPaths.RefxsScript is not null;

    /// <summary>
    /// Starts "c" or "ocaml" (Debian 4.17, refxs) or "c422" (upstream C 4.22.0, refxs-new); skips the calling test
    /// when that reference is absent or cannot start.
    /// </summary>
    public static async Task<ReferenceDaemon> StartOrSkipAsync(string kind, bool rings = false, params string[] extraArgs)
    {
        ReferenceSetup setup = ReferenceSetup.For(kind) ?? throw new ArgumentException($"no reference daemon of kind '{kind}'", nameof(kind));
        string? script = setup.ScriptPath;
        if (script is null)
        {
            Assert.Skip($"../shared/{setup.Folder} is not present");
        }
        string home = await setup.PrepareHomeAsync(script).ConfigureAwait(false);
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("start");
        info.ArgumentList.Add(setup.ScriptKind);
        foreach (string arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["REFXS_HOME"] = home;
        info.Environment.Remove("XENSTORED_RUNDIR");
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
            Assert.Skip($"{setup.Folder} could not start {kind}: {stderr.Trim()}");
        }
        string socketPath = lines[0].Trim();
        string pid = lines[^1].Trim();
        KillAtExit(pid);
        // refxs returns once the socket file exists, which is at bind(), before listen(): a connect in between is
        // refused.
        await SocketWait.UntilAcceptingAsync(socketPath, TimeSpan.FromSeconds(10), () => !Directory.Exists("/proc/" + pid)).ConfigureAwait(false);
        return new ReferenceDaemon(kind, socketPath, pid, home, script);
    }

    /// <summary>
    /// The root of Debian's extracted Xen packages (xen-utils-4.17, xen-utils-common: Xen's start scripts among
    /// them), set up through refxs; skips the calling test when refxs is absent.
    /// </summary>
    public static async Task<string> XenPackagesRootOrSkipAsync()
    {
        ReferenceSetup setup = ReferenceSetup.For("c")!;
        string? script = setup.ScriptPath;
        if (script is null)
        {
            Assert.Skip("../shared/refxs is not present");
        }
        string home = await setup.PrepareHomeAsync(script).ConfigureAwait(false);
        Directory.Delete(home, recursive: true);
        string root = Path.Combine(setup.SharedHome, "root");
        if (!File.Exists(Path.Combine(root, "etc/xen/scripts/launch-xenstore")))
        {
            Assert.Skip("refxs did not extract xen-utils-common");
        }
        return root;
    }

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

    public async ValueTask DisposeAsync()
    {
        var info = new ProcessStartInfo("bash") { UseShellExecute = false };
        info.ArgumentList.Add(_script);
        info.ArgumentList.Add("stop");
        info.ArgumentList.Add(_pid);
        using var process = Process.Start(info)!;
        await process.WaitForExitAsync().ConfigureAwait(false);
    }
}
