namespace Xenstore.TestKit;

/// <summary>
/// Starts the daemon a differential or interoperability test runs against, by kind: "c" (the reference C
/// xenstored, which every such test must pass), "ours", and "ocaml" where a test wants it.
/// </summary>
public static class DaemonKinds
{
    /// <summary>The kinds every differential test runs against, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Differential => new("c", "ours");

    /// <summary>
    /// Starts a daemon of <paramref name="kind"/> with a socket of its own. Skips the test when a reference daemon
    /// cannot run here; fails it when ours is not built (<see cref="OurDaemon.RequireBuilt"/>).
    /// </summary>
    public static async Task<IDaemonUnderTest> StartAsync(string kind) => kind == "ours"
        ? await OurDaemon.StartAsync().ConfigureAwait(false)
        : await ReferenceDaemon.StartOrSkipAsync(kind).ConfigureAwait(false);
}
