using System.Collections.Concurrent;
using System.Diagnostics;

namespace Xenstore.TestKit;

/// <summary>
/// Starts <c>xenbusd</c> (built from src/Xenstore.Xenbus) on a fresh client socket, in front of an upstream given by
/// its command-line arguments. As a daemon under test (kind "xenbusd") its <see cref="SocketPath"/> is xenbusd's:
/// clients talk to the daemon behind it through it. It may own that daemon and stop it with itself.
/// </summary>
public sealed class OurXenbus : IDaemonUnderTest
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly ConcurrentQueue<string> _log;
    private readonly IAsyncDisposable? _owned;

    private OurXenbus(Process process, string directory, string socketPath, ConcurrentQueue<string> log, IAsyncDisposable? owned)
    {
        _process = process;
        _directory = directory;
        SocketPath = socketPath;
        _log = log;
        _owned = owned;
    }

    public string Kind => "xenbusd";

    public string SocketPath { get; }

    /// <summary>What xenbusd logged so far.</summary>
    public IReadOnlyCollection<string> LogLines => _log.ToArray();

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public static string Dll => Path.Combine(RepositoryPaths.Root, "src", "Xenstore.Xenbus", "bin",
        RepositoryPaths.Configuration, "net10.0", "xenbusd.dll");

    /// <summary>xenbusd over <paramref name="upstream"/>'s socket; <paramref name="own"/> stops that daemon with it.</summary>
    public static Task<OurXenbus> OverSocketAsync(IDaemonUnderTest upstream, bool own = false, params string[] extraArgs) =>
        StartAsync(["--upstream-socket", upstream.SocketPath, .. extraArgs], own ? upstream : null);

    /// <summary>Our daemon started afresh, with xenbusd over its socket in front: kind "xenbusd".</summary>
    public static async Task<OurXenbus> StartWithDaemonAsync(params string[] extraArgs)
    {
        OurDaemon daemon = await OurDaemon.StartAsync().ConfigureAwait(false);
        try
        {
            return await OverSocketAsync(daemon, own: true, extraArgs).ConfigureAwait(false);
        }
        catch
        {
            await daemon.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts xenbusd with <paramref name="args"/> (its upstream among them) and waits until it accepts.</summary>
    /// <summary>
    /// A disaggregated host: our daemon as the Xenstore domain on a simulated hypervisor of its own, and xenbusd over
    /// dom0's ring, so every client of the returned socket reaches the store as dom0 does there. Disposing it stops both.
    /// </summary>
    public static async Task<OurXenbus> OverXenstoreDomainAsync()
    {
        string simulation = Directory.CreateTempSubdirectory("xs-xsdom-").FullName;
        OurDaemon daemon = await OurDaemon.StartXenstoreDomainAsync(simulation).ConfigureAwait(false);
        var owned = new OwnedHost(daemon, simulation);
        try
        {
            return await StartAsync(["--sim-dir", simulation, "--domain", "0"], owned).ConfigureAwait(false);
        }
        catch
        {
            await owned.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The daemon behind a disaggregated host, and its simulation directory.</summary>
    private sealed class OwnedHost(OurDaemon daemon, string simulation) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await daemon.DisposeAsync().ConfigureAwait(false);
            Directory.Delete(simulation, recursive: true);
        }
    }

    public static async Task<OurXenbus> StartAsync(IEnumerable<string> args, IAsyncDisposable? owned = null)
    {
        if (!File.Exists(Dll))
        {
            throw new FileNotFoundException("xenbusd is not built", Dll);
        }
        string directory = Directory.CreateTempSubdirectory("xs-xenbusd-").FullName;
        string socket = Path.Combine(directory, "socket");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        info.ArgumentList.Add("--socket");
        info.ArgumentList.Add(socket);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start xenbusd");
        // A test that fails before disposing it must not leave it running after the test process.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        };
        var log = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var xenbus = new OurXenbus(process, directory, socket, log, owned);
        try
        {
            await SocketWait.UntilAcceptingAsync(socket, TimeSpan.FromSeconds(30), () => process.HasExited).ConfigureAwait(false);
        }
        catch
        {
            await xenbus.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return xenbus;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
        if (_owned is not null)
        {
            await _owned.DisposeAsync().ConfigureAwait(false);
        }
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
