using System.Text;

namespace Xenstore.Cli;

/// <summary>
/// The manual page xenstore(1), in roff, made from the same usage lines the tools print (the package installs the
/// output of <c>xenstore --print-man-page</c>), so the page and the tools cannot disagree.
/// </summary>
internal static class CliManual
{
    public const string Option = "--print-man-page";

    private static readonly (Mode Mode, string What)[] StoreModes =
    [
        (Mode.Read, "print the value of each key; \\-p prefixes the path, \\-R prints the raw bytes"),
        (Mode.Write, "set each key to its value (created with its parents); \\-R writes the raw bytes"),
        (Mode.Rm, "remove each key and what lies below it; \\-t also removes parents left empty"),
        (Mode.Exists, "exit 0 when every key exists, 1 otherwise"),
        (Mode.List, "print the names of a key's children"),
        (Mode.Ls, "print the tree below a path with values; \\-f prints full paths, \\-p the permissions"),
        (Mode.Chmod, "set a key's permissions (n, r, w, b followed by a domain id); \\-r recursively, \\-u up the path"),
        (Mode.Watch, "print the path of each change at or below the key; \\-n stops after NR events"),
    ];

    public static string Render()
    {
        var page = new StringBuilder();
        page.Append(".TH XENSTORE 1 \"\" \"Xenstore.NET\" \"User Commands\"\n")
            .Append(".SH NAME\nxenstore, xenstore\\-read, xenstore\\-write, xenstore\\-rm, xenstore\\-exists, ")
            .Append("xenstore\\-list, xenstore\\-ls, xenstore\\-chmod, xenstore\\-watch, xenstore\\-control ")
            .Append("\\- Xenstore command-line tools (Xenstore.NET)\n")
            .Append(".SH SYNOPSIS\n.B xenstore\n\\fImode\\fR [\\fIoptions\\fR] ...\n.br\n")
            .Append(".B xenstore\\-\\fImode\\fR\n[\\fIoptions\\fR] ...\n")
            .Append(".SH DESCRIPTION\n")
            .Append("One executable for every tool: the mode comes from the name it is called by ")
            .Append("(\\fBxenstore\\-read\\fR) or from its first argument (\\fBxenstore read\\fR). ")
            .Append("Each mode behaves as the program of the same name in Xen's xenstore-utils: the same options, ")
            .Append("output and exit codes.\n")
            .Append(".SH MODES\n");
        foreach ((Mode mode, string what) in StoreModes)
        {
            page.Append(".TP\n.B ").Append(Escape(Modes.Usage(mode, true, "xenstore")["Usage: ".Length..])).Append('\n')
                .Append(what).Append('\n');
        }
        page.Append(".TP\n.B xenstore control \\fIcommand\\fR [\\fIarg\\fR...]\n")
            .Append("send a control command to the daemon, as xenstore\\-control does ")
            .Append("(\\fBhelp\\fR lists the daemon's commands)\n");
        string[] topUsage = Top.TopTool.Usage.Split('\n');
        page.Append(".TP\n.B ").Append(Escape(topUsage[0]["Usage: ".Length..])).Append('\n')
            .Append("a live view of the load per domain, like xentop; ")
            .Append(Escape(string.Join(' ', topUsage[1..].Select(l => l.Trim())))).Append('\n');
        page.Append(".SH CONNECTION OPTIONS\n")
            .Append("Accepted by every mode, before a \\fB\\-\\-\\fR:\n")
            .Append(".TP\n.B \\-\\-sim\\-dir \\fIDIR\\fB \\-\\-domain \\fIN\n")
            .Append("act as guest N over its ring in a simulated hypervisor's directory\n")
            .Append(".TP\n.B \\-\\-device \\fIPATH\n")
            .Append("talk over a xenbus character device (/dev/xen/xenbus)\n")
            .Append(".SH ENVIRONMENT\n")
            .Append(".TP\n.B XENSTORED_PATH\nthe daemon's socket (default /var/run/xenstored/socket)\n")
            .Append(".SH EXIT STATUS\nAs the C program of the same name: 0 on success, 1 when a request failed or the ")
            .Append("arguments are wrong; xenstore\\-control exits 2 on a usage error and 3 when the command failed.\n")
            .Append(".SH SEE ALSO\n.BR xenstored (8)\n");
        return page.ToString();
    }

    /// <summary>roff: a backslash and a leading dot or quote would be read as requests.</summary>
    private static string Escape(string text)
    {
        string escaped = text.Replace("\\", "\\e", StringComparison.Ordinal).Replace("-", "\\-", StringComparison.Ordinal);
        return escaped.StartsWith('.') || escaped.StartsWith('\'') ? "\\&" + escaped : escaped;
    }
}
