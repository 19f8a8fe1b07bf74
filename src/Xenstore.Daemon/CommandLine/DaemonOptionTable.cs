using System.Text;
using Xenstore.CommandLine;

namespace Xenstore.Daemon.CommandLine;

/// <summary>
/// Every option of <c>xenstored</c>. C xenstored 4.22's come first with its letters and meanings (its optstring is
/// <c>E:F:H::KNS:t:A:M:Q:q:T:W:w:U</c>; <c>--event</c>, <c>--master-domid</c> and <c>--priv-domid</c> also get the
/// letters the documentation gives them), then 4.17's that 4.22 dropped, then this daemon's own.
/// </summary>
internal static class DaemonOptionTable
{
    // Keys of options that have a long name only (getopt reports them by these values, as C uses 1).
    public const char TraceControl = '\u0001';
    public const char Socket = '\u0002';
    public const char StateDirectory = '\u0003';
    public const char NoPersistence = '\u0004';
    public const char SnapshotAfter = '\u0005';
    public const char Fsync = '\u0006';
    public const char NoIoUring = '\u0007';
    public const char MetricsPort = '\u0008';
    public const char SimulationDirectory = '\u000e';
    public const char Hypervisor = '\u000f';
    public const char XenstoreDomain = '\u0010';
    public const char LiveUpdateState = '\u0011';
    public const char PrintManPage = '\u0012';
    public const char GuestWriteRate = '\u0013';

    public static IReadOnlyList<DaemonOption> All { get; } =
    [
        new('F', "pid-file", OptionArgument.Required, "FILE", OptionOrigin.C,
            "write the daemon's process id to FILE once it serves (rewritten by a live update's successor)"),
        new('N', "no-fork", OptionArgument.None, null, OptionOrigin.C,
            "stay in the foreground (by default the daemon goes to the background once it serves, and the command returns)"),
        new('H', "help", OptionArgument.Optional, null, OptionOrigin.C, "print this text and exit"),
        new('T', "trace-file", OptionArgument.Required, "FILE", OptionOrigin.C,
            "append the access trace to FILE, in C xenstored's format (io and obj on; reopened on SIGHUP)"),
        new(TraceControl, "trace-control", OptionArgument.Required, "+SW|-SW", OptionOrigin.C,
            "switch a trace switch on or off: io (requests and replies), obj (connections), replay (records\nfor xenstore replay, off by default); wrl, acc and tdb are accepted and have nothing to trace here"),
        new('E', "entry-nb", OptionArgument.Required, "N", OptionOrigin.C, "nodes a domain may own (quota \"nodes\", default 1000)"),
        new('S', "entry-size", OptionArgument.Required, "N", OptionOrigin.C, "bytes of a node's value (quota \"node-size\", default 2048)"),
        new('W', "watch-nb", OptionArgument.Required, "N", OptionOrigin.C, "watches per domain (quota \"watches\", default 128)"),
        new('t', "transaction", OptionArgument.Required, "N", OptionOrigin.C, "open transactions per domain (quota \"transactions\", default 10)"),
        new('A', "perm-nb", OptionArgument.Required, "N", OptionOrigin.C, "permission entries per node (quota \"node-permissions\", default 5)"),
        new('M', "path-max", OptionArgument.Required, "N", OptionOrigin.C, "path length below a domain's home (quota \"path-max\", at most and by default 2048)"),
        new('Q', "quota", OptionArgument.Required, "NAME=N", OptionOrigin.C,
            "any quota by name: nodes, watches, transactions, outstanding, transaction-nodes, node-size,\npath-max (or path-length), node-permissions, watch-events; \"memory\" is not enforced (a warning)"),
        new('q', "quota-soft", OptionArgument.Required, "NAME=N", OptionOrigin.C,
            "a soft quota (C warns past it): only \"memory\" exists, and it is not accounted here (a warning)"),
        new('w', "timeout", OptionArgument.Required, "WHAT=SECONDS", OptionOrigin.C,
            "watch-event=SECONDS: C drops a watch event a guest leaves unread that long; here the watch-events\nquota bounds them instead (a warning)"),
        new('K', "keep-orphans", OptionArgument.None, null, OptionOrigin.C,
            "refused: a dead domain's nodes are always removed here"),
        new('e', "event", OptionArgument.Required, "PORT", OptionOrigin.C, "the privileged domain's event channel (Xenstore domain on Xen)"),
        new('m', "master-domid", OptionArgument.Required, "DOMID", OptionOrigin.C,
            "the domain served as the privileged one at start in a Xenstore domain (default 0)"),
        new('p', "priv-domid", OptionArgument.Required, "DOMID", OptionOrigin.C, "a domain other than dom0 with full privileges"),
        new('U', "live-update", OptionArgument.None, null, OptionOrigin.C,
            "refused: C's successor flag; this daemon's successor is started with --live-update-state"),
        new('D', "no-domain-init", OptionArgument.None, null, OptionOrigin.Legacy, "accepted, no effect (dom0 is never introduced by the daemon on a socket)"),
        new('P', "output-pid", OptionArgument.None, null, OptionOrigin.Legacy, "print the daemon's process id on standard output once it serves"),
        new('R', "no-recovery", OptionArgument.None, null, OptionOrigin.Legacy, "accepted, no effect (a debugging switch of C)"),
        new('I', "internal-db", OptionArgument.None, null, OptionOrigin.Legacy, "accepted, no effect (the store is always in memory, journalled to --state-dir)"),
        new('V', "verbose", OptionArgument.None, null, OptionOrigin.Legacy, "debug logging"),
        new('h', "", OptionArgument.None, null, OptionOrigin.Own, "as --help"),
        new(Socket, "socket", OptionArgument.Required, "PATH", OptionOrigin.Own,
            "Unix socket to serve (default: $XENSTORED_PATH, $XENSTORED_RUNDIR/socket, /var/run/xenstored/socket\nwhen writable, else a per-user runtime directory)"),
        new(StateDirectory, "state-dir", OptionArgument.Required, "DIR", OptionOrigin.Own,
            "where the snapshot and journal live, private to the daemon (default: <socket path>.state)"),
        new(NoPersistence, "no-persistence", OptionArgument.None, null, OptionOrigin.Own, "keep the state in memory only (lost when the daemon stops)"),
        new(SnapshotAfter, "snapshot-after", OptionArgument.Required, "BYTES", OptionOrigin.Own, "write a snapshot once the journal passes this size (default 8 MiB)"),
        new(Fsync, "fsync", OptionArgument.None, null, OptionOrigin.Own, "fsync the journal after every batch (for state on a disk, not tmpfs)"),
        new(NoIoUring, "no-io-uring", OptionArgument.None, null, OptionOrigin.Own, "one system call per socket send and receive instead of io_uring batches"),
        new(MetricsPort, "metrics-port", OptionArgument.Required, "PORT", OptionOrigin.Own, "serve Prometheus text on http://127.0.0.1:PORT/metrics (off by default)"),
        new(SimulationDirectory, "sim-dir", OptionArgument.Required, "DIR", OptionOrigin.Own,
            "serve guests through the simulated hypervisor in DIR (ring.N, evt, dying.N)"),
        new(Hypervisor, "hypervisor", OptionArgument.Required, "KIND", OptionOrigin.Own,
            "none, sim or xen (default: xen when /dev/xen/evtchn exists, else none)"),
        new(XenstoreDomain, "xenstore-domain", OptionArgument.None, null, OptionOrigin.Own,
            "run as the Xenstore domain: serve the privileged domain over its ring (introduced by the daemon\nitself) and every domain that already exists; no Unix socket unless --socket is given"),
        new(GuestWriteRate, "guest-write-rate", OptionArgument.Required, "RATE[:BURST]", OptionOrigin.Own,
            "writes a second (and at once) a guest may make while transactions are open, before its requests\nwait (XSA-206; default 200:10, as C; 0 turns the limit off)"),
        new(LiveUpdateState, "live-update-state", OptionArgument.Required, "FD", OptionOrigin.Own,
            "internal: the inherited channel on which a live update's successor waits for its predecessor's\nhand-over (given to the successor by its predecessor)"),
        new(PrintManPage, "print-man-page", OptionArgument.None, null, OptionOrigin.Own,
            "print the manual page xenstored(8), made from this table, and exit"),
    ];

    /// <summary>The short options in getopt's notation.</summary>
    public static string OptString { get; } = string.Concat(All.Where(o => o.HasShortForm).Select(o => o.Key + o.Argument switch
    {
        OptionArgument.Required => ":",
        OptionArgument.Optional => "::",
        _ => "",
    }));

    /// <summary>The long options for getopt; this daemon's own match exactly only.</summary>
    public static LongOption[] LongOptions { get; } = All.Where(o => o.Long.Length > 0)
        .Select(o => new LongOption(o.Long, o.Argument == OptionArgument.Required, o.Key, ExactOnly: o.Origin == OptionOrigin.Own))
        .ToArray();

    /// <summary>The text of <c>--help</c>.</summary>
    public static string Usage()
    {
        var text = new StringBuilder("Usage: xenstored [options]\n");
        Section(text, "C xenstored's options:", OptionOrigin.C);
        Section(text, "Options of C xenstored 4.17, accepted:", OptionOrigin.Legacy);
        Section(text, "This daemon's own:", OptionOrigin.Own);
        text.Append("""

            All quotas apply to unprivileged domains only; 0 means unlimited. Every limit is inclusive.
            SIGTERM and SIGINT stop the daemon (the state is flushed first); SIGUSR2 starts a live update;
            SIGHUP reopens the trace file. Under systemd (Type=notify) it reports READY=1 once it serves.
            """);
        return text.ToString();
    }

    /// <summary>How an option is written in the help and the manual page: <c>-F, --pid-file FILE</c>.</summary>
    public static string Synopsis(DaemonOption option)
    {
        string shortForm = option.HasShortForm ? "-" + option.Key : "";
        string longForm = option.Long.Length > 0 ? "--" + option.Long : "";
        string names = shortForm.Length > 0 && longForm.Length > 0 ? shortForm + ", " + longForm : shortForm + longForm;
        return option.ArgumentName is null ? names : names + " " + option.ArgumentName;
    }

    private static void Section(StringBuilder text, string title, OptionOrigin origin)
    {
        text.Append('\n').Append(title).Append('\n');
        foreach (DaemonOption option in All.Where(o => o.Origin == origin))
        {
            string synopsis = (option.HasShortForm ? "  " : "      ") + Synopsis(option);
            string[] lines = option.Help.Split('\n');
            if (synopsis.Length < 28)
            {
                text.Append(synopsis.PadRight(29)).Append(lines[0]).Append('\n');
            }
            else
            {
                text.Append(synopsis).Append('\n').Append(' ', 29).Append(lines[0]).Append('\n');
            }
            foreach (string line in lines.Skip(1))
            {
                text.Append(' ', 29).Append(line).Append('\n');
            }
        }
    }
}
