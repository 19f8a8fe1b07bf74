using System.Text;

namespace Xenstore.Daemon.CommandLine;

/// <summary>
/// The manual page xenstored(8), in roff, made from the option table as <c>--help</c> is (the package installs the
/// output of <c>xenstored --print-man-page</c>), so the two cannot disagree.
/// </summary>
internal static class DaemonManual
{
    public static string Render()
    {
        var page = new StringBuilder();
        page.Append(".TH XENSTORED 8 \"\" \"Xenstore.NET\" \"System Administration\"\n")
            .Append(".SH NAME\nxenstored \\- the Xenstore daemon (Xenstore.NET)\n")
            .Append(".SH SYNOPSIS\n.B xenstored\n[\\fIoptions\\fR]\n")
            .Append(".SH DESCRIPTION\n")
            .Append("Serves the Xenstore of a Xen host: dom0's tools over a Unix socket, guests over their shared rings. ")
            .Append("It takes C xenstored's options and, like it, goes to the background unless \\fB\\-N\\fR is given; ")
            .Append("the command returns once the daemon serves and its pid file is written. ")
            .Append("Under systemd it reports READY=1 once it serves.\n");
        Section(page, "OPTIONS", OptionOrigin.C);
        Section(page, "OPTIONS OF C XENSTORED 4.17", OptionOrigin.Legacy);
        Section(page, "OPTIONS OF THIS DAEMON", OptionOrigin.Own);
        page.Append(".SH SIGNALS\n")
            .Append(".TP\n.B SIGTERM, SIGINT\nstop, with the state flushed\n")
            .Append(".TP\n.B SIGUSR2\nlive update with the installed binary\n")
            .Append(".TP\n.B SIGHUP\nreopen the trace file\n")
            .Append(".SH FILES\n")
            .Append(".TP\n.I /var/run/xenstored/socket\nthe socket (0600)\n")
            .Append(".TP\n.I /var/run/xenstored/socket.state\nsnapshot and journal (0700, files 0600)\n")
            .Append(".SH SEE ALSO\n.BR xenstore (1)\n");
        return page.ToString();
    }

    private static void Section(StringBuilder page, string title, OptionOrigin origin)
    {
        page.Append(".SH ").Append(title).Append('\n');
        foreach (DaemonOption option in DaemonOptionTable.All.Where(o => o.Origin == origin))
        {
            page.Append(".TP\n.B ").Append(Escape(DaemonOptionTable.Synopsis(option))).Append('\n')
                .Append(Escape(option.Help.Replace('\n', ' '))).Append('\n');
        }
    }

    /// <summary>roff: a backslash and a leading dot or quote would be read as requests.</summary>
    private static string Escape(string text)
    {
        string escaped = text.Replace("\\", "\\e", StringComparison.Ordinal).Replace("-", "\\-", StringComparison.Ordinal);
        return escaped.StartsWith('.') || escaped.StartsWith('\'') ? "\\&" + escaped : escaped;
    }
}
