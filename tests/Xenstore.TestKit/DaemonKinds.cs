namespace Xenstore.TestKit;

/// <summary>
/// Starts the daemon a differential or interoperability test runs against, by kind: "c" (the reference C
/// xenstored 4.17, Debian's), "c422" (upstream C xenstored 4.22.0), "ours" (our daemon as a process), "embedded"
/// (our server in the test's process, over in-memory connections), and "ocaml" where a test wants it.
/// </summary>
public static class DaemonKinds
{
    /// <summary>The kinds every differential test runs against, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Differential => Data([.. ReferenceC, "ours"]);

    /// <summary>Kinds as theory data, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Data(IEnumerable<string> kinds)
    {
        var data = new TheoryData<string>();
        foreach (string kind in kinds)
        {
            data.Add(kind);
        }
        return data;
    }

    /// <summary>The reference C daemons: 4.17 (Debian's) and 4.22.0 (upstream's), each skipped where absent.</summary>
    public static readonly string[] ReferenceC = ["c", "c422"];

    /// <summary>Whether a kind is our server (as a process or embedded): it shares our documented differences.</summary>
    public static bool IsOurs(string kind) => kind is "ours" or "embedded";

    /// <summary>Our daemon as the Xenstore domain, reached through xenbusd over dom0's ring (a disaggregated host).</summary>
    public const string XenbusdKind = "xenbusd";

    /// <summary>The differential kinds and the disaggregated host: for clients that must work through xenbusd too.</summary>
    public static string[] WithXenbusd => [.. ReferenceC, "ours", XenbusdKind];

    /// <summary>
    /// Starts a daemon of <paramref name="kind"/> with a socket of its own. Skips the test when a reference daemon
    /// cannot run here; fails it when ours is not built (<see cref="OurDaemon.RequireBuilt"/>).
    /// </summary>
    public static async Task<IDaemonUnderTest> StartAsync(string kind) => kind switch
    {
        "embedded" => await EmbeddedDaemon.StartAsync().ConfigureAwait(false),
        "ours" => await OurDaemon.StartAsync().ConfigureAwait(false),
        XenbusdKind => await OurXenbus.OverXenstoreDomainAsync().ConfigureAwait(false),
        _ => await ReferenceDaemon.StartOrSkipAsync(kind).ConfigureAwait(false),
    };
}
