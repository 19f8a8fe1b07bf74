namespace Xenstore.TestKit;

/// <summary>
/// Starts the daemon a differential or interoperability test runs against, by kind: "c" (the reference C
/// xenstored, which every such test must pass), "ours" (our daemon as a process), "embedded" (our server in the
/// test's process, over in-memory connections), and "ocaml" where a test wants it.
/// </summary>
public static class DaemonKinds
{
    /// <summary>The kinds every differential test runs against, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Differential => new("c", "ours");

    /// <summary>Whether a kind is our server (as a process or embedded): it shares our documented differences.</summary>
    public static bool IsOurs(string kind) => kind is "ours" or "embedded";

    /// <summary>True when our daemon has been built in the configuration the tests use.</summary>
    public static bool OursBuilt => File.Exists(OurDaemon.DaemonDll);

    /// <summary>
    /// Starts a daemon of <paramref name="kind"/> with a socket of its own. Skips the test when a reference daemon
    /// cannot run here.
    /// </summary>
    public static async Task<IDaemonUnderTest> StartAsync(string kind)
    {
        if (kind == "embedded")
        {
            return await EmbeddedDaemon.StartAsync().ConfigureAwait(false);
        }
        if (kind == "ours")
        {
            if (!OursBuilt)
            {
                // The test kit builds the daemon first; a missing daemon is a failure, never a skip.
                throw new FileNotFoundException("our daemon is not built", OurDaemon.DaemonDll);
            }
            return await OurDaemon.StartAsync().ConfigureAwait(false);
        }
        return await ReferenceDaemon.StartOrSkipAsync(kind).ConfigureAwait(false);
    }
}
