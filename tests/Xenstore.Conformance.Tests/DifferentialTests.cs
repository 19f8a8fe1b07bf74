using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// The differential table: every scenario runs against both C references (4.17 and 4.22, each skipped where absent)
/// and against ours (as a process, and embedded in the test's process over in-memory connections), and each
/// transcript must equal the one the table gives for that kind (<see cref="Scenario.ExpectedFor"/>).
/// Set <c>XS_TRANSCRIPT_DIR</c> to also write every actual transcript there, for review.
/// </summary>
public sealed class DifferentialTests(SharedDaemons daemons) : IClassFixture<SharedDaemons>
{
    private static readonly string[] s_kinds = [.. DaemonKinds.ReferenceC, "ours", "embedded"];

    public static TheoryData<string, string> Rows()
    {
        var data = new TheoryData<string, string>();
        foreach (Scenario scenario in ScenarioTable.All)
        {
            foreach (string kind in s_kinds)
            {
                data.Add(kind, scenario.Name);
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
        string? difference = scenario.DifferenceFor(kind);
        string why = difference is null ? "" : $"\n({difference})";
        Assert.True(expected == actual, $"scenario '{name}' on {kind}{why}\n--- expected\n{expected}--- actual\n{actual}");
    }

    [Fact]
    public void EveryDifferenceFromCSaysWhy()
    {
        foreach (Scenario scenario in ScenarioTable.All)
        {
            Assert.True((scenario.C422 is null) == (scenario.Change422 is null), $"'{scenario.Name}': a 4.22 transcript needs what changed, and only it");
            Assert.True((scenario.Ours is null) == (scenario.Reason is null), $"'{scenario.Name}': a transcript of ours needs its reason, and only it");
        }
    }

    /// <summary>Raw string literals in the table end without a trailing newline; transcripts end with one.</summary>
    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";
}
