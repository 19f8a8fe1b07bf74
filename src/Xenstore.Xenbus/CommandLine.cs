using System.Globalization;

namespace Xenstore.Xenbus;

/// <summary>Parses xenbusd's command line.</summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: xenbusd [OPTION]...
        Serves local Xenstore clients on a Unix socket over one upstream connection to the daemon.

        Upstream (exactly one):
          --upstream-socket PATH   the daemon's Unix socket
          --device PATH            a xenbus device (e.g. /dev/xen/xenbus)
          --sim-dir DIR            a simulated hypervisor: the ring DIR/ring.N of --domain N
          --domain N               the domain xenbusd speaks as (default 0)

        Clients:
          --socket PATH            where to listen (default $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket); mode 0600

        Behaviour:
          --serialize              one request on the upstream at a time (as xenbus before Linux 4.11)
          --max-in-flight N        requests on the upstream at once (default 20 for an unprivileged domain, 256 for dom0)
          --max-transactions N     open transactions on the upstream (default 10 unprivileged, unlimited for dom0; 0 = unlimited)
          --max-watches N          watches on the upstream (default 128 unprivileged, unlimited for dom0; 0 = unlimited)
          --client-queue BYTES     output queued for one client before it is cut off (default 1048576)
          --upstream-timeout SEC   silence or absence of the upstream before requests fail with EIO (default 30)
          --probe-interval SEC     how often the upstream session is checked (default 2; 0 = never)
          --admission-wait SEC     how long a transaction start waits for a slot held by another client (default 5)
          -V, --verbose            log more
          -h, --help               this text
        """;

    public static XenbusSettings? Parse(IReadOnlyList<string> args, out string? error)
    {
        var settings = new XenbusSettings();
        int upstreams = 0;
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string? Value()
            {
                if (i + 1 >= args.Count)
                {
                    return null;
                }
                return args[++i];
            }
            switch (arg)
            {
                case "-h" or "--help":
                    return settings with { ShowHelp = true };
                case "-V" or "--verbose":
                    settings = settings with { Verbose = true };
                    break;
                case "--upstream-socket" or "--device" or "--sim-dir":
                    string? path = Value();
                    if (string.IsNullOrEmpty(path))
                    {
                        error = arg + " needs a path";
                        return null;
                    }
                    upstreams++;
                    settings = settings with
                    {
                        UpstreamPath = path,
                        Upstream = arg switch
                        {
                            "--upstream-socket" => UpstreamKind.Socket,
                            "--device" => UpstreamKind.Device,
                            _ => UpstreamKind.SimulatedRing,
                        },
                    };
                    break;
                case "--domain":
                    if (!uint.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out uint domain))
                    {
                        error = "--domain needs a domain id";
                        return null;
                    }
                    settings = settings with { Domain = domain };
                    break;
                case "--socket":
                    string? socket = Value();
                    if (string.IsNullOrEmpty(socket))
                    {
                        error = "--socket needs a path";
                        return null;
                    }
                    settings = settings with { SocketPath = socket };
                    break;
                case "--serialize":
                    settings = settings with { Serialize = true };
                    break;
                case "--max-in-flight" or "--max-transactions" or "--max-watches" or "--client-queue":
                    if (!int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int number)
                        || (number == 0 && arg is "--max-in-flight" or "--client-queue"))
                    {
                        error = arg + " needs a number" + (arg is "--max-in-flight" or "--client-queue" ? " above 0" : "");
                        return null;
                    }
                    settings = arg switch
                    {
                        "--max-in-flight" => settings with { MaxInFlight = number },
                        "--max-transactions" => settings with { MaxTransactions = number },
                        "--max-watches" => settings with { MaxWatches = number },
                        _ => settings with { ClientQueueBytes = number },
                    };
                    break;
                case "--upstream-timeout" or "--probe-interval" or "--admission-wait":
                    if (!double.TryParse(Value(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds)
                        || (seconds <= 0 && arg == "--upstream-timeout"))
                    {
                        error = arg + " needs a number of seconds";
                        return null;
                    }
                    TimeSpan span = TimeSpan.FromSeconds(seconds);
                    settings = arg switch
                    {
                        "--upstream-timeout" => settings with { UpstreamTimeout = span },
                        "--probe-interval" => settings with { ProbeInterval = span },
                        _ => settings with { AdmissionWait = span },
                    };
                    break;
                default:
                    error = "unknown option " + arg;
                    return null;
            }
        }
        if (upstreams != 1)
        {
            error = upstreams == 0
                ? "an upstream is needed: --upstream-socket PATH, --device PATH or --sim-dir DIR"
                : "only one upstream may be given";
            return null;
        }
        return settings;
    }

    /// <summary>Where to listen when --socket is not given: where libxenstore looks first.</summary>
    public static string DefaultSocketPath()
    {
        string? runDirectory = Environment.GetEnvironmentVariable("XENSTORED_RUNDIR");
        return Path.Combine(string.IsNullOrEmpty(runDirectory) ? "/var/run/xenstored" : runDirectory, "socket");
    }
}
