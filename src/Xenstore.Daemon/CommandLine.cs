using System.Globalization;
using Xenstore.Store;

namespace Xenstore.Daemon;

/// <summary>
/// Parses the daemon's options. Quota options use C xenstored's long names (and short letters) so existing
/// init scripts keep working: --entry-nb, --entry-size, --watch-nb, --transaction, --perm-nb, --path-max, --quota.
/// </summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: xenstored [options]
          --socket PATH            Unix socket to serve (default: $XENSTORED_PATH, $XENSTORED_RUNDIR/socket,
                                   /var/run/xenstored/socket when writable, else a per-user runtime directory)
          -E, --entry-nb N         nodes a domain may own (quota "nodes", default 1000)
          -S, --entry-size N       bytes of a node's value (quota "node-size", default 2048)
          -W, --watch-nb N         watches per domain (quota "watches", default 128)
          -t, --transaction N      open transactions per domain (quota "transactions", default 10)
          -A, --perm-nb N          permission entries per node (quota "node-permissions", default 5)
          -M, --path-max N         path length below a domain's home (quota "path-max", default 2048)
          -Q, --quota NAME=N       any quota by name: nodes, watches, transactions, outstanding,
                                   transaction-nodes, node-size, path-max, node-permissions, watch-events
          -p, --priv-domid DOMID   a domain other than dom0 with full privileges
          --state-dir DIR          where the snapshot and journal live (default: <socket path>.state)
          --no-persistence         keep the state in memory only (lost when the daemon stops)
          --snapshot-after BYTES   write a snapshot once the journal passes this size (default 8 MiB)
          --fsync                  fsync the journal after every batch (for state on a disk, not tmpfs)
          --no-io-uring            one system call per socket send and receive instead of io_uring batches
          --metrics-port PORT      serve Prometheus text on http://127.0.0.1:PORT/metrics (off by default)
          --sim-dir DIR            serve guests through the simulated hypervisor in DIR (ring.N, evt, dying.N)
          --hypervisor KIND        none, sim or xen (default: xen when /dev/xen/evtchn exists, else none)
          --xenstore-domain        run as the Xenstore domain: serve the privileged domain over its ring
                                   (introduced by the daemon itself) and every domain that already exists;
                                   no Unix socket unless --socket is given
          --event PORT             the privileged domain's event channel (Xenstore domain on Xen)
          -N, --no-fork            accepted for compatibility; the daemon always runs in the foreground
          -V, --verbose            debug logging
          -h, --help               this text
        All quotas apply to unprivileged domains only; 0 means unlimited. Every limit is inclusive.
        """;

    /// <summary>Returns the settings, or null with <paramref name="error"/> set.</summary>
    public static DaemonSettings? Parse(string[] args, out string? error)
    {
        var settings = new DaemonSettings();
        error = null;
        for (int i = 0; i < args.Length; i++)
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
                if (i + 1 < args.Length)
                {
                    return args[++i];
                }
                return null;
            }
            switch (arg)
            {
                case "-h" or "--help":
                    settings.ShowHelp = true;
                    break;
                case "-N" or "--no-fork":
                    break;
                case "-V" or "--verbose":
                    settings.Verbose = true;
                    break;
                case "--socket":
                    settings.SocketPath = Value();
                    if (string.IsNullOrEmpty(settings.SocketPath))
                    {
                        error = "--socket needs a path";
                        return null;
                    }
                    break;
                case "--state-dir":
                    settings.StateDirectory = Value();
                    if (string.IsNullOrEmpty(settings.StateDirectory))
                    {
                        error = "--state-dir needs a directory";
                        return null;
                    }
                    break;
                case "--no-persistence":
                    settings.NoPersistence = true;
                    break;
                case "--snapshot-after":
                    if (!long.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) || bytes < 1)
                    {
                        error = "--snapshot-after needs a positive number of bytes";
                        return null;
                    }
                    settings.SnapshotAfterBytes = bytes;
                    break;
                case "--metrics-port":
                    if (!int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                    {
                        error = "--metrics-port needs a TCP port";
                        return null;
                    }
                    settings.MetricsPort = port;
                    break;
                case "--live-update-state":
                    settings.LiveUpdateState = Value();
                    break;
                case "--xenstore-domain":
                    settings.XenstoreDomain = true;
                    break;
                case "--event":
                    if (!uint.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out uint eventPort) || eventPort == 0)
                    {
                        error = "--event needs an event channel port";
                        return null;
                    }
                    settings.EventChannel = eventPort;
                    break;
                case "--fsync":
                    settings.Fsync = true;
                    break;
                case "--no-io-uring":
                    settings.NoIoUring = true;
                    break;
                case "--sim-dir":
                    settings.SimulationDirectory = Value();
                    if (string.IsNullOrEmpty(settings.SimulationDirectory))
                    {
                        error = "--sim-dir needs a directory";
                        return null;
                    }
                    settings.Hypervisor ??= "sim";
                    break;
                case "--hypervisor":
                    settings.Hypervisor = Value();
                    if (settings.Hypervisor is not ("none" or "sim" or "xen"))
                    {
                        error = "--hypervisor takes none, sim or xen";
                        return null;
                    }
                    break;
                case "-p" or "--priv-domid":
                    if (!uint.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out uint domid))
                    {
                        error = $"{arg} needs a domain id";
                        return null;
                    }
                    settings.PrivilegedDomid = domid;
                    break;
                case "-Q" or "--quota":
                    if (!TrySetNamedQuota(settings.Quotas, Value(), out error))
                    {
                        return null;
                    }
                    break;
                default:
                    if (QuotaFlag(arg) is not { } quota)
                    {
                        error = $"unknown option '{args[i]}'";
                        return null;
                    }
                    if (!TryParseQuotaValue(Value(), out long value))
                    {
                        error = $"{arg} needs a non-negative number";
                        return null;
                    }
                    settings.Quotas[quota] = value;
                    break;
            }
        }
        if (settings.Hypervisor == "sim" && settings.SimulationDirectory is null)
        {
            error = "--hypervisor sim needs --sim-dir DIR";
            return null;
        }
        if (settings.XenstoreDomain && settings.Hypervisor == "none")
        {
            error = "--xenstore-domain needs a hypervisor (--sim-dir DIR or --hypervisor xen)";
            return null;
        }
        return settings;
    }

    private static Quota? QuotaFlag(string flag) => flag switch
    {
        "-E" or "--entry-nb" => Quota.Nodes,
        "-S" or "--entry-size" => Quota.NodeSize,
        "-W" or "--watch-nb" => Quota.Watches,
        "-t" or "--transaction" => Quota.Transactions,
        "-A" or "--perm-nb" => Quota.NodePermissions,
        "-M" or "--path-max" => Quota.PathMax,
        _ => null,
    };

    private static bool TrySetNamedQuota(QuotaSet quotas, string? text, out string? error)
    {
        error = null;
        int equals = text?.IndexOf('=', StringComparison.Ordinal) ?? -1;
        if (text is null || equals <= 0)
        {
            error = "--quota needs NAME=N";
            return false;
        }
        if (!QuotaNames.TryParse(text[..equals], out Quota quota))
        {
            error = $"unknown quota '{text[..equals]}'";
            return false;
        }
        if (!TryParseQuotaValue(text[(equals + 1)..], out long value))
        {
            error = $"quota '{text[..equals]}' needs a non-negative number";
            return false;
        }
        quotas[quota] = value;
        return true;
    }

    private static bool TryParseQuotaValue(string? text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
