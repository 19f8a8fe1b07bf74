using Xenstore.TestKit;

namespace Xenstore.Interop.Tests;

internal static class ToolAssert
{
    /// <summary>Exit code, stdout and stderr must all match exactly.</summary>
    public static void Exactly(ProcessResult actual, int exitCode, string stdout, string stderr = "")
    {
        Assert.True(actual.ExitCode == exitCode && actual.StdOut == stdout && actual.StdErr == stderr,
            $"expected exit {exitCode}\n--- stdout\n{stdout}--- stderr\n{stderr}\nbut got {actual}");
    }

    /// <summary>Success with exactly <paramref name="stdout"/> and nothing on stderr.</summary>
    public static void Succeeds(ProcessResult actual, string stdout = "") => Exactly(actual, 0, stdout);
}
