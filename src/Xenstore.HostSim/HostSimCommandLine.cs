using System.Globalization;

namespace Xenstore.HostSim;

/// <summary>What the command line asked for.</summary>
internal enum CommandLineOutcome
{
    /// <summary>Run with the options.</summary>
    Run,

    /// <summary>Print the usage and exit 0.</summary>
    Help,

    /// <summary>Print the error and exit 2.</summary>
    Error,
}

/// <summary>Parses <c>xenstore-hostsim</c>'s command line.</summary>
internal static class HostSimCommandLine
{
    public const string Usage = """
        Usage: xenstore-hostsim --sim-dir DIR [OPTION]...
        A Xen host in a box: creates, boots and destroys guest domains the way libxl, Linux's PV drivers and the
        hotplug scripts do, against any xenstored, checks every step and reports.

        Daemon:
          --socket PATH              the daemon's Unix socket (default /var/run/xenstored/socket)
          --sim-dir DIR              the simulated hypervisor's directory (ours: xenstored --sim-dir DIR;
                                     refxs with REFXS_RINGS=1: $REFXS_HOME/rings)
          --daemon-pid PID           the daemon's pid, for its CPU time and RSS (default: the socket's peer)

        Host:
          --domains N                guests to boot, then destroy (default 20)
          --concurrency C            guests created or destroyed at once, as C concurrent xl commands (default 4)
          --vifs V                   network interfaces per guest (default 1)
          --vbds B                   disks per guest (default 1)
          --driver-domain            serve network backends from a driver domain running xl devd
          --driver-domain-every K    only every K-th guest's vifs go to the driver domain (default 1)
          --first-domid N            the first domain id handed out (default 1)
          --timeout SEC              longest wait for any watch (default 10, as libxl's device waits)

        Hotplug scripts:
          --hotplug inline|process   make the scripts' requests from inside the simulator, one connection per
                                     script (default), or run them as processes calling xenstore-* tools
          --tools debian|ours        the tools the process scripts call (default ours)
          --tools-dir DIR            where those tools are (default: PATH)
          --scripts-dir DIR          where the hotplug scripts are (default: Xen's, when found, else the bundled reproductions)

        Faults:
          --fault KIND               backend-kill: the fault guest's last device's backend driver dies
                                     mid-handshake and probes the device again;
                                     guest-death: the fault guest dies while its frontends connect;
                                     daemon-restart: the daemon is SIGKILLed as the fault guest's creation
                                     starts, then started again with --daemon-command;
                                     live-update: CONTROL live-update to --live-update-binary as the fault
                                     guest's creation starts (BUSY answers retried, as xenstore-control does)
          --fault-domain I           the guest (0-based, creation order) the fault hits (default: the middle one)
          --daemon-command CMD       shell command that starts the daemon again and returns once it serves
          --live-update-binary PATH  the daemon binary a live update hands over to

        Output:
          --json                     print one JSON object instead of the table
          --quiet                    no progress line on stderr
          -h, --help                 this text

        Exit status: 0 when every check passed, 1 when any failed, 2 for a bad command line.
        """;

    public static CommandLineOutcome Parse(IReadOnlyList<string> args, out HostSimOptions options, out string? error)
    {
        options = new HostSimOptions();
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string? inlineValue = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                inlineValue = arg[(equals + 1)..];
                arg = arg[..equals];
            }
            string? Value()
            {
                if (inlineValue is not null)
                {
                    return inlineValue;
                }
                return i + 1 < args.Count ? args[++i] : null;
            }
            switch (arg)
            {
                case "-h" or "--help":
                    return CommandLineOutcome.Help;
                case "--json":
                    options = options with { Json = true };
                    break;
                case "--quiet":
                    options = options with { Quiet = true };
                    break;
                case "--driver-domain":
                    options = options with { DriverDomain = true };
                    break;
                case "--socket":
                    if (!Text(arg, Value(), out string socket, ref error)) return CommandLineOutcome.Error;
                    options = options with { SocketPath = socket };
                    break;
                case "--sim-dir":
                    if (!Text(arg, Value(), out string simDir, ref error)) return CommandLineOutcome.Error;
                    options = options with { SimDir = simDir };
                    break;
                case "--tools-dir":
                    if (!Text(arg, Value(), out string toolsDir, ref error)) return CommandLineOutcome.Error;
                    options = options with { ToolsDirectory = toolsDir };
                    break;
                case "--scripts-dir":
                    if (!Text(arg, Value(), out string scriptsDir, ref error)) return CommandLineOutcome.Error;
                    options = options with { ScriptsDirectory = scriptsDir };
                    break;
                case "--daemon-command":
                    if (!Text(arg, Value(), out string daemonCommand, ref error)) return CommandLineOutcome.Error;
                    options = options with { DaemonCommand = daemonCommand };
                    break;
                case "--live-update-binary":
                    if (!Text(arg, Value(), out string binary, ref error)) return CommandLineOutcome.Error;
                    options = options with { LiveUpdateBinary = binary };
                    break;
                case "--domains":
                    if (!Number(arg, Value(), 1, out int domains, ref error)) return CommandLineOutcome.Error;
                    options = options with { Domains = domains };
                    break;
                case "--concurrency":
                    if (!Number(arg, Value(), 1, out int concurrency, ref error)) return CommandLineOutcome.Error;
                    options = options with { Concurrency = concurrency };
                    break;
                case "--vifs":
                    if (!Number(arg, Value(), 0, out int vifs, ref error)) return CommandLineOutcome.Error;
                    options = options with { Vifs = vifs };
                    break;
                case "--vbds":
                    if (!Number(arg, Value(), 0, out int vbds, ref error)) return CommandLineOutcome.Error;
                    options = options with { Vbds = vbds };
                    break;
                case "--driver-domain-every":
                    if (!Number(arg, Value(), 1, out int every, ref error)) return CommandLineOutcome.Error;
                    options = options with { DriverDomainEvery = every };
                    break;
                case "--first-domid":
                    if (!Number(arg, Value(), 1, out int firstDomid, ref error)) return CommandLineOutcome.Error;
                    options = options with { FirstDomid = firstDomid };
                    break;
                case "--timeout":
                    if (!Number(arg, Value(), 1, out int timeout, ref error)) return CommandLineOutcome.Error;
                    options = options with { WaitTimeout = TimeSpan.FromSeconds(timeout) };
                    break;
                case "--daemon-pid":
                    if (!Number(arg, Value(), 1, out int pid, ref error)) return CommandLineOutcome.Error;
                    options = options with { DaemonPid = pid };
                    break;
                case "--fault-domain":
                    if (!Number(arg, Value(), 0, out int faultDomain, ref error)) return CommandLineOutcome.Error;
                    options = options with { FaultDomain = faultDomain };
                    break;
                case "--hotplug":
                    switch (Value())
                    {
                        case "inline": options = options with { Hotplug = HotplugMode.Inline }; break;
                        case "process": options = options with { Hotplug = HotplugMode.Process }; break;
                        default: error = "--hotplug takes inline or process"; return CommandLineOutcome.Error;
                    }
                    break;
                case "--tools":
                    switch (Value())
                    {
                        case "debian": options = options with { Tools = HotplugTools.Debian }; break;
                        case "ours": options = options with { Tools = HotplugTools.Ours }; break;
                        default: error = "--tools takes debian or ours"; return CommandLineOutcome.Error;
                    }
                    break;
                case "--fault":
                    FaultKind? fault = Value() switch
                    {
                        "none" => FaultKind.None,
                        "backend-kill" => FaultKind.BackendKill,
                        "guest-death" => FaultKind.GuestDeath,
                        "daemon-restart" => FaultKind.DaemonRestart,
                        "live-update" => FaultKind.LiveUpdate,
                        _ => null,
                    };
                    if (fault is null)
                    {
                        error = "--fault takes backend-kill, guest-death, daemon-restart or live-update";
                        return CommandLineOutcome.Error;
                    }
                    options = options with { Fault = fault.Value };
                    break;
                default:
                    error = $"unknown option '{args[i]}'";
                    return CommandLineOutcome.Error;
            }
        }
        return Validate(options, out error) ? CommandLineOutcome.Run : CommandLineOutcome.Error;
    }

    private static bool Validate(HostSimOptions options, out string? error)
    {
        error = options switch
        {
            { SimDir.Length: 0 } => "--sim-dir is required: guests talk to the daemon over simulated rings",
            { Fault: FaultKind.DaemonRestart, DaemonCommand: null } => "--fault daemon-restart needs --daemon-command",
            { Fault: FaultKind.LiveUpdate, LiveUpdateBinary: null } => "--fault live-update needs --live-update-binary",
            _ when options.FaultDomain >= options.Domains => "--fault-domain must name one of the --domains guests",
            { Vbds: > 16 } => "--vbds is at most 16 (xvda to xvdp)",
            { Vifs: > 64 } => "--vifs is at most 64",
            _ => null,
        };
        return error is null;
    }

    private static bool Text(string option, string? value, out string text, ref string? error)
    {
        text = value ?? "";
        if (string.IsNullOrEmpty(value))
        {
            error = option + " needs a value";
            return false;
        }
        return true;
    }

    private static bool Number(string option, string? value, int minimum, out int number, ref string? error)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < minimum)
        {
            error = $"{option} needs a whole number of at least {minimum}";
            return false;
        }
        return true;
    }
}
