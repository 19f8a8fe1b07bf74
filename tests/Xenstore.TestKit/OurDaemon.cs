using System.Collections.Concurrent;
using System.Diagnostics;

namespace Xenstore.TestKit;

/// <summary>Starts our <c>xenstored</c> (built from src/Xenstore.Daemon) on a fresh socket in a temp directory.</summary>
public sealed class OurDaemon : IDaemonUnderTest
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly ConcurrentQueue<string> _log;

    private OurDaemon(Process process, string directory, string socketPath, ConcurrentQueue<string> log)
    {
        _process = process;
        _directory = directory;
        _log = log;
        SocketPath = socketPath;
    }

    public string Kind => "ours";

    /// <summary>The lines the daemon wrote to stderr (its log) so far.</summary>
    public IReadOnlyCollection<string> LogLines => _log.ToArray();

    private static readonly List<Process> s_running = [];

    /// <summary>
    /// Daemons of a test that failed before disposing them would outlive the test run and keep a core busy:
    /// whatever is still running when the test process exits is killed.
    /// </summary>
    private static void TrackForExit(Process process)
    {
        lock (s_running)
        {
            if (s_running.Count == 0)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    lock (s_running)
                    {
                        foreach (Process running in s_running)
                        {
                            try
                            {
                                running.Kill(entireProcessTree: true);
                            }
                            catch (InvalidOperationException)
                            {
                                // Already gone.
                            }
                        }
                    }
                };
            }
            s_running.Add(process);
        }
    }

    public string SocketPath { get; }

    /// <summary>The process this object started has exited (e.g. after handing over in a live update).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The daemon's process id (for signals and crash tests).</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// The native (AOT) daemon to test instead of the built assembly, from <c>XENSTORED_UNDER_TEST</c>
    /// (scripts/test-native); null runs the assembly.
    /// </summary>
    public static string? NativeDaemon => Environment.GetEnvironmentVariable("XENSTORED_UNDER_TEST") is { Length: > 0 } path ? path : null;

    /// <summary>Path of the built daemon assembly.</summary>
    public static string DaemonDll => Path.Combine(RepositoryPaths.Root, "src", "Xenstore.Daemon", "bin",
        RepositoryPaths.Configuration, "net10.0", "xenstored.dll");

    /// <summary>
    /// Fails the calling test when the daemon is not built in the tests' configuration: every test project builds
    /// it first (through the test kit), so a missing daemon is a broken build, never a reason to skip.
    /// </summary>
    public static void RequireBuilt()
    {
        if (!File.Exists(DaemonDll))
        {
            throw new FileNotFoundException($"our daemon is not built ({RepositoryPaths.Configuration}); build the test project or the solution", DaemonDll);
        }
    }

    /// <summary>Starts the daemon with extra command-line arguments and waits until its socket accepts.</summary>
    public static Task<OurDaemon> StartAsync(params string[] extraArgs) => StartWithEnvironmentAsync(null, extraArgs);

    /// <summary>As <see cref="StartAsync"/>, with extra environment variables for the daemon process.</summary>
    public static Task<OurDaemon> StartWithEnvironmentAsync(IReadOnlyDictionary<string, string>? environment, params string[] extraArgs) =>
        StartProcessAsync(environment, withSocket: true, extraArgs);

    /// <summary>
    /// Starts the daemon as the Xenstore domain on the simulated hypervisor in <paramref name="simulationDirectory"/>
    /// (<c>--xenstore-domain</c>), without a socket: dom0 reaches it over <c>ring.0</c>. Returns once the daemon says
    /// it serves dom0's ring.
    /// </summary>
    public static Task<OurDaemon> StartXenstoreDomainAsync(string simulationDirectory, params string[] extraArgs) =>
        StartProcessAsync(null, withSocket: false, ["--xenstore-domain", "--sim-dir", simulationDirectory, .. extraArgs]);

    /// <summary>
    /// Starts the daemon as the Xenstore domain with the given environment and arguments (the hypervisor among
    /// them), without a socket; returns once it says it serves dom0's ring.
    /// </summary>
    public static Task<OurDaemon> StartXenstoreDomainWithEnvironmentAsync(IReadOnlyDictionary<string, string> environment, params string[] extraArgs) =>
        StartProcessAsync(environment, withSocket: false, ["--xenstore-domain", .. extraArgs]);

    private static async Task<OurDaemon> StartProcessAsync(IReadOnlyDictionary<string, string>? environment, bool withSocket, string[] extraArgs)
    {
        RequireBuilt();
        string directory = Directory.CreateTempSubdirectory("xs-ours-").FullName;
        string socket = Path.Combine(directory, "socket");
        var info = new ProcessStartInfo(NativeDaemon ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        if (NativeDaemon is null)
        {
            info.ArgumentList.Add(DaemonDll);
        }
        // In the foreground, as under systemd: the test owns the process and reads its output.
        info.ArgumentList.Add("--no-fork");
        if (withSocket)
        {
            info.ArgumentList.Add("--socket");
            info.ArgumentList.Add(socket);
        }
        else
        {
            // Without a socket the state directory would default to the system one: keep it in the test's directory.
            info.ArgumentList.Add("--state-dir");
            info.ArgumentList.Add(Path.Combine(directory, "state"));
        }
        foreach (string arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start xenstored");
        TrackForExit(process);
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && e.Data.StartsWith("xenstored: serving domain", StringComparison.Ordinal))
            {
                serving.TrySetResult();
            }
        };
        var log = new ConcurrentQueue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var daemon = new OurDaemon(process, directory, socket, log);
        if (withSocket)
        {
            await SocketWait.UntilAcceptingAsync(socket, TimeSpan.FromSeconds(30), () => process.HasExited).ConfigureAwait(false);
        }
        else if (await Task.WhenAny(serving.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false) != serving.Task)
        {
            throw new InvalidOperationException("the daemon did not start serving dom0's ring: " + string.Join('\n', log));
        }
        return daemon;
    }

    /// <summary>
    /// A live update leaves a new daemon process serving the same socket: any process whose command line names
    /// this daemon's socket is stopped too.
    /// </summary>
    private static void KillSuccessors(string socketPath)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("xenstored", StringComparison.Ordinal) && commandLine.Contains(socketPath, StringComparison.Ordinal))
                {
                    using Process process = Process.GetProcessById(pid);
                    process.Kill();
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }
    }

    /// <summary>SIGKILL: the daemon gets no chance to clean up (crash tests).</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>Sends SIGTERM (or <paramref name="signal"/>, as kill names it) and returns the exit code once the daemon has stopped.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout, string signal = "TERM")
    {
        using (var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
        KillSuccessors(SocketPath);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }
}
