using System.Text;

namespace Xenstore.Cli.Tests;

/// <summary>
/// <c>xenstore --print-man-page</c> writes xenstore(1), which the Debian package installs: it is made from the
/// usage lines the tools print, so every mode's synopsis is the one its <c>-h</c> gives.
/// </summary>
public sealed class ManualPageTests : IDisposable
{
    private readonly ToolRunner _tools = new();

    public void Dispose() => _tools.Dispose();

    [Fact]
    public async Task ManualPage_IsRoff_WithEachModesUsageLine()
    {
        ToolResult page = await _tools.RunOursAsync("/nonexistent", ["xenstore", "--print-man-page"]);
        Assert.Equal(0, page.ExitCode);
        string text = Encoding.UTF8.GetString(page.Stdout);
        Assert.StartsWith(".TH XENSTORE 1 ", text, StringComparison.Ordinal);
        foreach (string mode in new[] { "read", "write", "rm", "exists", "list", "ls", "chmod", "watch" })
        {
            // "-h" prints "xenstore: Usage: xenstore MODE [...]" on stderr, as the C tool; the page has the synopsis
            // with roff's dashes.
            ToolResult help = await _tools.RunOursAsync("/nonexistent", ["xenstore", mode, "-h"]);
            string usage = Encoding.UTF8.GetString(help.Stderr).Split('\n')[0];
            const string Prefix = "xenstore: Usage: ";
            Assert.StartsWith(Prefix + "xenstore " + mode, usage, StringComparison.Ordinal);
            Assert.Contains(".B " + usage[Prefix.Length..].Replace("-", "\\-", StringComparison.Ordinal) + "\n", text, StringComparison.Ordinal);
        }
        Assert.Contains(".B xenstore top ", text, StringComparison.Ordinal);
    }
}
