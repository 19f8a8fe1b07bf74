using Xenstore.TestKit;
using static Xenstore.Interop.Tests.DebianClients;
using static Xenstore.Interop.Tests.ToolAssert;

namespace Xenstore.Interop.Tests;

/// <summary>
/// xenstore-control (CONTROL requests). C 4.17 and C 4.22 word some replies differently (help layout, quota
/// lines, <c>log</c> without argument): each C daemon's text is checked exactly, and ours for what it implements
/// (docs/COMPATIBILITY.md).
/// </summary>
public sealed class XenstoreControlTests(SharedDaemons daemons) : IClassFixture<SharedDaemons>
{
    public static TheoryData<string> Kinds => DaemonKinds.Differential;

    private const string Help417 =
        "check\t\nlog\ton|off\nlive-update\t[-c <cmdline>] [-F] [-t <timeout>] <file>\n    Default timeout is 60 seconds.\n" +
        "logfile\t<file>\nmemreport\t[<file>]\nprint\t<string>\nquota\t[set <name> <val>|<domid>]\nquota-soft\t[set <name> <val>]\nhelp\t\n";

    private const string Help422 =
        "check           \nlog             [on|off|+<switch>|-<switch>]\n" +
        "live-update     [-c <cmdline>] [-F] [-t <timeout>] [-v <version>] <file>\n" +
        "    Default timeout is 60 seconds, default version is 2.\n" +
        "logfile         <file>\nmemreport       [<file>]\nprint           <string>\n" +
        "quota           [set <name> <val>|<domid>|max [-r]]\nquota-soft      [set <name> <val>]\nhelp            \n";

    /// <summary>Each C daemon's help text (ours: see <see cref="s_ourCommands"/>).</summary>
    private static readonly Dictionary<string, string> s_helpOfC = new() { ["c"] = Help417, ["c422"] = Help422 };

    private static readonly Dictionary<string, string> s_quotaOfC = new()
    {
        ["c"] =
            "Quota settings:\n" +
            "nodes            :     1000 Nodes per domain\n" +
            "watches          :      128 Watches per domain\n" +
            "transactions     :       10 Transactions per domain\n" +
            "outstanding      :       20 Outstanding requests per domain\n" +
            "transaction-nodes:     1024 Max. number of accessed nodes per transaction\n" +
            "memory           :  2621440 Total Xenstore memory per domain (error level)\n" +
            "node-size        :     2048 Max. size of a node\n" +
            "path-max         :     2048 Max. length of a node path\n" +
            "permissions      :        5 Max. number of permissions per node\n\n",
        ["c422"] =
            "Quota settings:\n" +
            "nodes            :     1000 Nodes per domain\n" +
            "watches          :      128 Watches per domain\n" +
            "outstanding      :       20 Outstanding requests per domain\n" +
            "memory           :  2621440 Total Xenstore memory per domain\n" +
            "transactions     :       10 Active transactions per domain\n" +
            "transaction-nodes:     1024 Max. number of accessed nodes per transaction\n" +
            "node-permissions :        5 Max. number of permissions per node\n" +
            "path-max         :     2048 Max. length of a node path\n" +
            "node-size        :     2048 Max. size of a node\n\n",
    };

    private static readonly Dictionary<string, string> s_softQuotaOfC = new()
    {
        ["c"] = "Quota settings:\nmemory           :  2097152 Total Xenstore memory per domain (warning level)\n\n",
        ["c422"] = "Quota settings:\nmemory           :  2097152 Total Xenstore memory per domain\n\n",
    };

    // Ours lists, in C's order, the commands it implements.
    private static readonly string[] s_ourCommands = ["accounting", "check", "log", "memreport", "metrics", "print", "quota", "help"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Help_ListsTheCommands(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        ProcessResult help = await RunToolAsync(d, "control", "help");
        if (s_helpOfC.TryGetValue(kind, out string? text))
        {
            // The reply text, then the tool's own newline.
            Succeeds(help, text + "\n");
        }
        else
        {
            Assert.Equal(0, help.ExitCode);
            string[] names = help.StdOut.Split('\n').Where(l => l.Length > 0 && l[0] != ' ').Select(l => l.Split(' ', '\t')[0]).ToArray();
            Assert.Equal(s_ourCommands, names);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task CheckPrintAndQuota_AnswerAsC(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        Succeeds(await RunToolAsync(d, "control", "check"), "OK\n");
        Succeeds(await RunToolAsync(d, "control", "print", "hello from the tests"), "OK\n");
        ProcessResult quota = await RunToolAsync(d, "control", "quota");
        Assert.Equal(0, quota.ExitCode);
        Assert.StartsWith("Quota settings:\n", quota.StdOut, StringComparison.Ordinal);
        // "%-17s: %8d %s" per quota, in both 4.17 and 4.22.
        Assert.Contains("nodes            :     1000 ", quota.StdOut, StringComparison.Ordinal);
        Assert.Contains("watches          :      128 ", quota.StdOut, StringComparison.Ordinal);
        Assert.Contains("transactions     :       10 ", quota.StdOut, StringComparison.Ordinal);
        if (s_quotaOfC.TryGetValue(kind, out string? text))
        {
            Succeeds(quota, text);
            Succeeds(await RunToolAsync(d, "control", "quota-soft"), s_softQuotaOfC[kind]);
        }
        ProcessResult dom0 = await RunToolAsync(d, "control", "quota", "0");
        Assert.Equal(0, dom0.ExitCode);
        Assert.StartsWith("Domain 0:\n", dom0.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task QuotaSet_ChangesTheGlobalQuota(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        try
        {
            Succeeds(await RunToolAsync(d, "control", "quota", "set", "watches", "200"), "OK\n");
            Assert.Contains("watches          :      200 ", (await RunToolAsync(d, "control", "quota")).StdOut, StringComparison.Ordinal);
        }
        finally
        {
            // The daemon is shared with the other tests of the class.
            Succeeds(await RunToolAsync(d, "control", "quota", "set", "watches", "128"), "OK\n");
        }
        // Values below 1 and unknown names are EINVAL, which the tool reports as an unsupported command.
        Assert.Equal(3, (await RunToolAsync(d, "control", "quota", "set", "watches", "0")).ExitCode);
        Assert.Equal(3, (await RunToolAsync(d, "control", "quota", "set", "no-such-quota", "5")).ExitCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task UnknownCommand_FailsWithTheValidCommands(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        ProcessResult bogus = await RunToolAsync(d, "control", "bogus");
        Assert.Equal(3, bogus.ExitCode);
        Assert.Equal("", bogus.StdOut);
        Assert.StartsWith("Command not supported. Valid commands are:\n", bogus.StdErr, StringComparison.Ordinal);
        if (s_helpOfC.TryGetValue(kind, out string? help))
        {
            Assert.Equal("Command not supported. Valid commands are:\n" + help + "\n", bogus.StdErr);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Log_WithoutArgument_AnswersAsItsVersion(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        ProcessResult log = await RunToolAsync(d, "control", "log");
        if (kind == "c")
        {
            // 4.17 needs on|off.
            Assert.Equal(3, log.ExitCode);
        }
        else
        {
            // 4.22 lists the trace switches.
            Assert.Equal(0, log.ExitCode);
            Assert.StartsWith("Log switch settings:\n", log.StdOut, StringComparison.Ordinal);
        }
    }
}
