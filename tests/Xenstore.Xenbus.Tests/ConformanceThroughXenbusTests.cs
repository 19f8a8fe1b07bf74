using Xenstore.Conformance.Tests;
using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>Our daemon with xenbusd in front, shared by the conformance rows.</summary>
public sealed class XenbusDaemonFixture : IAsyncLifetime
{
    public OurXenbus Xenbus { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Xenbus = await OurXenbus.StartWithDaemonAsync();

    public ValueTask DisposeAsync() => Xenbus.DisposeAsync();
}

/// <summary>
/// The differential table of tests/Xenstore.Conformance.Tests, run through xenbusd: each transcript must equal the
/// one our daemon produces on its own socket, except the rows listed in <see cref="Differences"/>, where xenbusd
/// differs for a stated reason and its transcript is checked against expected-xenbusd/.
/// </summary>
public sealed class ConformanceThroughXenbusTests(XenbusDaemonFixture fixture) : IClassFixture<XenbusDaemonFixture>
{
    /// <summary>Rows whose transcript through xenbusd differs from the daemon's own socket, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> Differences = new Dictionary<string, string>();

    public static TheoryData<string> Rows()
    {
        var data = new TheoryData<string>();
        foreach (Scenario scenario in ScenarioTable.All)
        {
            data.Add(scenario.Name);
        }
        return data;
    }

    private static int s_counter;

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Scenario_matches_the_daemons_own_socket(string name)
    {
        Scenario scenario = ScenarioTable.Get(name);
        string actual;
        await using (var session = new Session(fixture.Xenbus, "x" + Interlocked.Increment(ref s_counter)))
        {
            await scenario.Run(session);
            actual = session.Transcript.ToString();
        }
        string expected = Differences.ContainsKey(name)
            ? File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "expected-xenbusd", scenario.Slug + ".txt"))
            : scenario.ExpectedFor("ours");
        expected = expected.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";
        string? why = Differences.GetValueOrDefault(name);
        Assert.True(expected == actual, $"scenario '{name}' through xenbusd{(why is null ? "" : $" (differs on purpose: {why})")}\n--- expected\n{expected}--- actual\n{actual}");
    }
}
