using System.Diagnostics;
using System.Globalization;

namespace Xenstore.HostSim.Hotplug;

/// <summary>
/// Runs hotplug scripts as libxl does on a real host: a process per run with libxl's arguments and environment,
/// the script making a <c>xenstore-*</c> call (a process, a connection) for every key it reads or writes. Xen's own
/// <c>vif-bridge</c> and <c>block</c> run when they are installed, with stand-ins for the network commands; the
/// reproductions in <c>hotplug-scripts/reproduced</c> otherwise. Each run's processes are counted
/// (<see cref="ProcessHotplugStage.CountsProcesses"/>).
/// </summary>
internal sealed class ProcessHotplugRunner : IHotplugRunner, IAsyncDisposable
{
    private readonly ProcessHotplugSettings _settings;
    private readonly Lazy<Task<ProcessHotplugStage>> _stage;
    private readonly ProcessDiskProvisioner _disks;

    /// <summary>The runner <c>--hotplug process</c> asks for (<see cref="ProcessHotplugSettings.From"/>).</summary>
    public ProcessHotplugRunner(HostSimOptions options)
        : this(ProcessHotplugSettings.From(options))
    {
    }

    public ProcessHotplugRunner(ProcessHotplugSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _disks = new ProcessDiskProvisioner(settings.SocketPath);
        _stage = new Lazy<Task<ProcessHotplugStage>>(() => ProcessHotplugStage.CreateAsync(settings, CancellationToken.None));
    }

    /// <summary>The laid-out directory (created on first use).</summary>
    public Task<ProcessHotplugStage> StageAsync() => _stage.Value;

    public async Task<HotplugResult> RunAsync(HotplugInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ProcessHotplugStage stage = await _stage.Value.ConfigureAwait(false);
        string log = Path.Combine(stage.LogDirectory,
            $"{Name(invocation.Kind)}-{invocation.FrontendDomid}-{invocation.DeviceId}-{Command(invocation.Action)}-{Guid.NewGuid():N}.log");
        string? disk = invocation.Kind == HotplugDeviceKind.Vbd && invocation.Action == HotplugAction.Add
            ? await _disks.NodeAsync(invocation, cancellationToken).ConfigureAwait(false)
            : null;
        ProcessStartInfo start = StartInfo(stage, invocation, disk, log);
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.Start();
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_settings.Timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return new HotplugResult(false, 0, 0, clock.Elapsed,
                $"{Name(invocation.Kind)} {Command(invocation.Action)} for {invocation.BackendPath} did not finish within {_settings.Timeout.TotalSeconds:0} s");
        }

        TimeSpan elapsed = clock.Elapsed;
        string stdout = await output.ConfigureAwait(false);
        string stderr = await errors.ConfigureAwait(false);
        int processes = stage.CountsProcesses ? CountedProcesses(stdout) : 0;
        if (process.ExitCode == 0)
        {
            File.Delete(log);
            return new HotplugResult(true, 0, processes, elapsed, null);
        }

        return new HotplugResult(false, 0, processes, elapsed, Failure(invocation, process.ExitCode, log, stderr));
    }

    /// <summary>
    /// libxl's environment for the script (libxl_linux.c): <c>XENBUS_PATH</c> and <c>XENBUS_BASE_PATH</c> relative to
    /// the backend domain's home, <c>XENBUS_TYPE</c>, <c>script</c>, and for a vif <c>vif</c> (its interface name)
    /// and <c>netdev</c>; the tools reach the daemon through <c>XENSTORED_PATH</c>.
    /// </summary>
    private ProcessStartInfo StartInfo(ProcessHotplugStage stage, HotplugInvocation invocation, string? diskNode, string log)
    {
        string script = Path.Combine(stage.Scripts, Name(invocation.Kind));
        var start = new ProcessStartInfo(stage.CountsProcesses ? "unshare" : stage.Launcher)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Not the machine's root: the block script tests mount sources (proc, sysfs, ...) as relative paths.
            WorkingDirectory = stage.Root,
        };
        if (stage.CountsProcesses)
        {
            foreach (string argument in new[] { "--pid", "--fork", "--kill-child", stage.Launcher })
            {
                start.ArgumentList.Add(argument);
            }
        }

        bool disk = invocation.Kind == HotplugDeviceKind.Vbd;
        start.ArgumentList.Add(diskNode ?? "-");
        start.ArgumentList.Add(diskNode is null ? "0:0" : SimulatedDisk.PhysicalDevice(invocation.FrontendDomid, invocation.DeviceId));
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(Command(invocation.Action));
        if (!disk)
        {
            start.ArgumentList.Add("type_if=vif");
        }

        string type = Name(invocation.Kind) == "block" ? "vbd" : "vif";
        // A backend in a driver domain is reached here over dom0's socket, where a path relative to the caller's home
        // would name dom0's backend directory; the driver domain's own tools would resolve libxl's relative path to
        // exactly this absolute one.
        string basePath = invocation.BackendDomid == 0 ? "backend" : $"/local/domain/{invocation.BackendDomid}/backend";
        var environment = start.Environment;
        environment["XENBUS_TYPE"] = type;
        environment["XENBUS_PATH"] = string.Create(CultureInfo.InvariantCulture,
            $"{basePath}/{type}/{invocation.FrontendDomid}/{invocation.DeviceId}");
        environment["XENBUS_BASE_PATH"] = basePath;
        environment["script"] = script;
        if (!disk)
        {
            environment["vif"] = string.Create(CultureInfo.InvariantCulture, $"vif{invocation.FrontendDomid}.{invocation.DeviceId}");
            environment["netdev"] = "";
        }

        environment["XENSTORED_PATH"] = _settings.SocketPath;
        environment.Remove("XENSTORE_DOMAIN_INTERFACE");
        environment["HOSTSIM_HOTPLUG_LOG"] = log;
        environment["HOSTSIM_LOCK_DIR"] = stage.RunDirectory;
        environment["PATH"] = stage.Bin + ":" + (environment.TryGetValue("PATH", out string? path) ? path : "/usr/bin:/bin");
        return start;
    }

    public ValueTask DisposeAsync() => _disks.DisposeAsync();

    /// <summary>The launcher's last line, <c>processes P cli C</c>: P.</summary>
    private static int CountedProcesses(string stdout)
    {
        string? line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith("processes ", StringComparison.Ordinal));
        string[] words = line?.Split(' ') ?? [];
        return words.Length >= 2 && int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) ? count : 0;
    }

    /// <summary>
    /// What the script said about its failure: the errors it logged (Xen's scripts log through <c>logger</c>, whose
    /// stand-in writes to the run's log), else the end of its log and stderr.
    /// </summary>
    private static string Failure(HotplugInvocation invocation, int exitCode, string log, string stderr)
    {
        string[] lines = ((File.Exists(log) ? File.ReadAllText(log) : "") + "\n" + stderr)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.StartsWith("processes ", StringComparison.Ordinal))
            .ToArray();
        string[] errors = lines.Where(line => line.StartsWith("daemon.err:", StringComparison.Ordinal)).ToArray();
        string said = string.Join('\n', errors.Length > 0 ? errors : lines.TakeLast(6));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Name(invocation.Kind)} {Command(invocation.Action)} for {invocation.BackendPath} exited with {exitCode}: {said}");
    }

    private static string Name(HotplugDeviceKind kind) => kind == HotplugDeviceKind.Vif ? "vif-bridge" : "block";

    private static string Command(HotplugAction action) => action switch
    {
        HotplugAction.Online => "online",
        HotplugAction.Offline => "offline",
        HotplugAction.Add => "add",
        _ => "remove",
    };
}
