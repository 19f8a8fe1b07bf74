using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// The differential table: every scenario runs against the C reference and against ours (as a process, and
/// embedded in the test's process over in-memory connections), and each transcript
/// must equal the expected one (the same for both, except the rows that document a deliberate difference).
/// Set <c>XS_TRANSCRIPT_DIR</c> to also write every actual transcript there, for review.
/// </summary>
public sealed class DifferentialTests(SharedDaemons daemons) : IClassFixture<SharedDaemons>
{
    private static readonly string[] s_kinds = ["c", "ours", "embedded"];

    public static TheoryData<string, string> Rows()
    {
        var data = new TheoryData<string, string>();
        foreach (Scenario scenario in ScenarioTable.All)
        {
            foreach (string kind in s_kinds)
            {
                // A scenario whose C 4.17 transcript does not apply to ours is covered by its own test for ours
                // (see the row's reason), so no row is generated here rather than a skipped one.
                if (!DaemonKinds.IsOurs(kind) || !scenario.OursUnchecked)
                {
                    data.Add(kind, scenario.Name);
                }
            }
        }
        return data;
    }

    private static int s_counter;

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Scenario_MatchesItsTranscript(string kind, string name)
    {
        Scenario scenario = ScenarioTable.Get(name);
        IDaemonUnderTest daemon = await daemons.GetAsync(kind);
        string actual;
        await using (var session = new Session(daemon, "d" + Interlocked.Increment(ref s_counter)))
        {
            await scenario.Run(session);
            actual = session.Transcript.ToString();
        }
        string? dir = Environment.GetEnvironmentVariable("XS_TRANSCRIPT_DIR");
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
            string suffix = kind == "c" ? ".txt" : $".{kind}.txt";
            await File.WriteAllTextAsync(Path.Combine(dir, scenario.Slug + suffix), actual, TestContext.Current.CancellationToken);
        }
        string expected = Normalize(scenario.ExpectedFor(kind));
        string why = DaemonKinds.IsOurs(kind) && scenario.Ours is not null ? $"\n(ours differs from C 4.17 on purpose: {scenario.Reason})" : "";
        Assert.True(expected == actual, $"scenario '{name}' on {kind}{why}\n--- expected\n{expected}--- actual\n{actual}");
    }

    /// <summary>Raw string literals in the table end without a trailing newline; transcripts end with one.</summary>
    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";
}
