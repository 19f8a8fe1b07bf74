namespace Xenstore.Client.Tests;

internal static class TestPaths
{
    private static int s_next;

    /// <summary>A fresh absolute path no other test uses.</summary>
    public static string Unique(string name) =>
        $"/test/{name}-{Environment.ProcessId}-{Interlocked.Increment(ref s_next)}";
}
