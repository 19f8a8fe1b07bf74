using System.Globalization;
using Xenstore.CommandLine;
using Xenstore.Store;
using static Xenstore.Daemon.CommandLine.DaemonOptionTable;

namespace Xenstore.Daemon.CommandLine;

/// <summary>
/// Parses the daemon's options with GNU getopt_long, as C xenstored does: <c>-E5</c>, <c>-E 5</c>,
/// <c>--entry-nb=5</c> and <c>--entry</c> (an abbreviation) all work, and an option may follow another's value.
/// Where C takes a number it takes what C's <c>get_optval_uint</c> takes: decimal digits up to INT_MAX.
/// </summary>
internal static class DaemonCommandLine
{
    /// <summary>C's XENSTORE_REL_PATH_MAX, the most <c>--path-max</c> can ask for.</summary>
    private const long RelativePathMax = 2048;

    /// <summary>Returns the settings, or null with <paramref name="error"/> set (already prefixed with the program name).</summary>
    public static DaemonSettings? Parse(string[] args, out string? error)
    {
        var settings = new DaemonSettings();
        var errors = new List<string>();
        var getopt = new Getopt("xenstored", args, OptString, LongOptions, errors.Add);
        error = null;
        while (getopt.Next(out char option, out string? argument))
        {
            string? problem = option == '?' ? errors[^1] : Apply(settings, option, argument ?? "");
            if (problem is not null)
            {
                error = problem.StartsWith("xenstored: ", StringComparison.Ordinal) ? problem : "xenstored: " + problem;
                return null;
            }
        }
        if (getopt.Operands.Count > 0)
        {
            error = $"xenstored: no arguments desired ('{getopt.Operands[0]}')";
            return null;
        }
        if (settings.Hypervisor == "sim" && settings.SimulationDirectory is null)
        {
            error = "xenstored: --hypervisor sim needs --sim-dir DIR";
            return null;
        }
        if (settings.XenstoreDomain && settings.Hypervisor == "none")
        {
            error = "xenstored: --xenstore-domain needs a hypervisor (--sim-dir DIR or --hypervisor xen)";
            return null;
        }
        if (settings.LiveUpdateState is not null)
        {
            // A successor is started by its predecessor, which waits for it: it never forks (C's -U neither).
            settings.NoFork = true;
        }
        return settings;
    }

    /// <summary>Applies one option; returns a message when it is wrong.</summary>
    private static string? Apply(DaemonSettings settings, char option, string argument)
    {
        switch (option)
        {
            case 'H' or 'h':
                settings.ShowHelp = true;
                return null;
            case 'N':
                settings.NoFork = true;
                return null;
            case 'F':
                return NonEmpty(argument, "--pid-file needs a file", value => settings.PidFile = value);
            case 'P':
                settings.OutputPid = true;
                return null;
            case 'T':
                return NonEmpty(argument, "--trace-file needs a file", value => settings.TraceFile = value);
            case TraceControl:
                return TraceSwitch(settings, argument);
            case 'E' or 'S' or 'W' or 't' or 'A' or 'M':
                return QuotaLetter(settings, option, argument);
            case 'Q':
                return NamedQuota(settings, argument);
            case 'q':
                return SoftQuota(settings, argument);
            case 'w':
                return WatchEventTimeout(settings, argument);
            case 'K':
                return "--keep-orphans is not supported: a dead domain's nodes are always removed, as without -K in C";
            case 'U':
                return "--live-update is C xenstored's own restart; start a live update with 'xenstore-control live-update' or SIGUSR2";
            case 'e':
                return Domid(argument, "--event needs an event channel port", value => settings.EventChannel = value, allowZero: false);
            case 'm':
                return Domid(argument, "--master-domid needs a domain id", value => settings.MasterDomid = value);
            case 'p':
                return Domid(argument, "--priv-domid needs a domain id", value => settings.PrivilegedDomid = value);
            case 'D' or 'R' or 'I':
                return null;
            case 'V':
                settings.Verbose = true;
                return null;
            case Socket:
                return NonEmpty(argument, "--socket needs a path", value => settings.SocketPath = value);
            case StateDirectory:
                return NonEmpty(argument, "--state-dir needs a directory", value => settings.StateDirectory = value);
            case NoPersistence:
                settings.NoPersistence = true;
                return null;
            case SnapshotAfter:
                if (!long.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) || bytes < 1)
                {
                    return "--snapshot-after needs a positive number of bytes";
                }
                settings.SnapshotAfterBytes = bytes;
                return null;
            case GuestWriteRate:
                return ParseWriteRate(argument, settings);
            case Fsync:
                settings.Fsync = true;
                return null;
            case NoIoUring:
                settings.NoIoUring = true;
                return null;
            case MetricsPort:
                if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                {
                    return "--metrics-port needs a TCP port";
                }
                settings.MetricsPort = port;
                return null;
            case SimulationDirectory:
                settings.Hypervisor ??= "sim";
                return NonEmpty(argument, "--sim-dir needs a directory", value => settings.SimulationDirectory = value);
            case Hypervisor:
                if (argument is not ("none" or "sim" or "xen"))
                {
                    return "--hypervisor takes none, sim or xen";
                }
                settings.Hypervisor = argument;
                return null;
            case XenstoreDomain:
                settings.XenstoreDomain = true;
                return null;
            case PrintManPage:
                settings.PrintManPage = true;
                return null;
            case LiveUpdateState:
                if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out int channel) || channel < 3)
                {
                    return "--live-update-state needs a descriptor number";
                }
                settings.LiveUpdateState = channel;
                return null;
            default:
                return $"option '{option}' is in the table but not handled";
        }
    }

    private static string? NonEmpty(string argument, string message, Action<string> set)
    {
        if (argument.Length == 0)
        {
            return message;
        }
        set(argument);
        return null;
    }

    private static string? Domid(string argument, string message, Action<uint> set, bool allowZero = true)
    {
        if (!TryParseCValue(argument, out long value) || (!allowZero && value == 0))
        {
            return message;
        }
        set((uint)value);
        return null;
    }

    private static string? QuotaLetter(DaemonSettings settings, char letter, string argument)
    {
        (Quota quota, string name) = letter switch
        {
            'E' => (Quota.Nodes, "--entry-nb"),
            'S' => (Quota.NodeSize, "--entry-size"),
            'W' => (Quota.Watches, "--watch-nb"),
            't' => (Quota.Transactions, "--transaction"),
            'A' => (Quota.NodePermissions, "--perm-nb"),
            _ => (Quota.PathMax, "--path-max"),
        };
        if (!TryParseCValue(argument, out long value))
        {
            return $"{name} needs a non-negative number (invalid parameter value \"{argument}\")";
        }
        settings.Quotas[quota] = quota == Quota.PathMax ? Math.Min(value, RelativePathMax) : value;
        return null;
    }

    private static string? NamedQuota(DaemonSettings settings, string argument)
    {
        if (!SplitAssignment(argument, out string name, out string text))
        {
            return "--quota needs NAME=N (quotas must be specified via <what>=<nb>)";
        }
        if (!TryParseCValue(text, out long value))
        {
            return $"quota '{name}' needs a non-negative number (invalid parameter value \"{text}\")";
        }
        if (name == "memory")
        {
            settings.Warnings.Add($"quota memory={value} is not enforced: memory is bounded by the other quotas here");
            return null;
        }
        // 4.22 calls the path quota path-length; GET/SET_QUOTA here call it path-max.
        if (!QuotaNames.TryParse(name == "path-length" ? "path-max" : name, out Quota quota))
        {
            return $"unknown quota '{name}'";
        }
        settings.Quotas[quota] = value;
        return null;
    }

    private static string? SoftQuota(DaemonSettings settings, string argument)
    {
        if (!SplitAssignment(argument, out string name, out string text))
        {
            return "--quota-soft needs NAME=N (quotas must be specified via <what>=<nb>)";
        }
        if (!TryParseCValue(text, out _))
        {
            return $"soft quota '{name}' needs a non-negative number (invalid parameter value \"{text}\")";
        }
        if (name != "memory")
        {
            return $"unknown soft quota '{name}' (C knows only memory)";
        }
        settings.Warnings.Add("soft quota memory is not accounted here: no warning will be logged");
        return null;
    }

    private static string? WatchEventTimeout(DaemonSettings settings, string argument)
    {
        if (!SplitAssignment(argument, out string name, out string text))
        {
            return "--timeout needs WHAT=SECONDS";
        }
        if (name != "watch-event")
        {
            return $"unknown timeout '{name}' (C knows only watch-event)";
        }
        if (!TryParseCValue(text, out _))
        {
            return $"timeout '{name}' needs a non-negative number of seconds";
        }
        settings.Warnings.Add("timeout watch-event is not applied: unread watch events are bounded by the watch-events quota instead");
        return null;
    }

    private static string? TraceSwitch(DaemonSettings settings, string argument)
    {
        if (argument.Length < 2 || argument[0] is not ('+' or '-') || argument[1..] is not ("io" or "obj" or "wrl" or "acc" or "tdb" or "replay"))
        {
            return $"illegal trace switch \"{argument}\" (+ or - and one of io, obj, wrl, acc, tdb, replay)";
        }
        if (argument[1..] is "wrl" or "acc" or "tdb")
        {
            settings.Warnings.Add($"trace switch {argument[1..]} has nothing to trace in this daemon (no write rate limit, accounting or database layer)");
        }
        settings.TraceControl.Add(argument);
        return null;
    }

    private static bool SplitAssignment(string argument, out string name, out string value)
    {
        int equals = argument.IndexOf('=', StringComparison.Ordinal);
        name = equals > 0 ? argument[..equals] : argument;
        value = equals > 0 ? argument[(equals + 1)..] : "";
        return equals > 0;
    }

    /// <summary>C's get_optval_uint: decimal digits only, at most INT_MAX.</summary>
    private static bool TryParseCValue(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= int.MaxValue;

    /// <summary><c>RATE[:BURST]</c>: both whole numbers, the burst at least 1 when the rate is not 0.</summary>
    private static string? ParseWriteRate(string? argument, DaemonSettings settings)
    {
        const string Error = "--guest-write-rate needs RATE[:BURST], whole numbers (0 turns the limit off)";
        string[] parts = (argument ?? "").Split(':');
        if (parts.Length > 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rate))
        {
            return Error;
        }
        int burst = settings.GuestWriteBurst;
        if (parts.Length == 2 && (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out burst) || burst < 1))
        {
            return Error;
        }
        settings.GuestWriteRate = rate;
        settings.GuestWriteBurst = burst;
        return null;
    }
}
