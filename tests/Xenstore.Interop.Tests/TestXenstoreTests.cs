using System.Text.RegularExpressions;
using Xenstore.TestKit;

namespace Xenstore.Interop.Tests;

/// <summary>
/// Xen's own <c>test-xenstore</c> (libxenstore) against the daemon under test: every test it has must pass. It
/// prints <c>name: avg: N ns (min ns .. max ns)</c> per test, or <c>name: failed (ret = r, stage s)</c>.
/// </summary>
public sealed partial class TestXenstoreTests(SharedDaemons daemons) : IClassFixture<SharedDaemons>
{
    /// <summary>What <c>test-xenstore -l</c> lists (xen-utils 4.17).</summary>
    public static readonly string[] AllTests =
    [
        "read 1", "read 2000", "write 1", "write 2000", "dir", "rm node", "rm dir",
        "ta empty", "ta empty x", "ta rmw", "ta rmw x", "ta err",
    ];

    public static TheoryData<string, string> KindAndTest()
    {
        var data = new TheoryData<string, string>();
        foreach (string kind in DaemonKinds.WithXenbusd)
        {
            foreach (string test in AllTests)
            {
                data.Add(kind, test);
            }
        }
        return data;
    }

    [GeneratedRegex(@"^(?<name>.{10}): avg: (?<avg>\d+) ns \((?<min>\d+) ns \.\. (?<max>\d+) ns\)$")]
    private static partial Regex TimingLine();

    [Fact]
    public async Task TestList_IsTheExpectedOne()
    {
        DebianClients.SkipUnlessPresent(DebianClients.TestXenstore);
        ProcessResult list = await ExternalProcess.RunAsync(DebianClients.TestXenstore, ["-l"], "/nonexistent");
        Assert.Equal(0, list.ExitCode);
        string[] names = list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[0].TrimEnd()).ToArray();
        Assert.Equal(AllTests, names);
    }

    [Theory]
    [MemberData(nameof(KindAndTest))]
    public async Task Test_Passes(string kind, string test)
    {
        DebianClients.SkipUnlessPresent(DebianClients.TestXenstore);
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        ProcessResult run = await ExternalProcess.RunAsync(DebianClients.TestXenstore, ["-t", test, "-i", "20"], d.SocketPath);
        Assert.True(run.ExitCode == 0 && run.StdErr.Length == 0, run.ToString());
        string line = Assert.Single(run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Match m = TimingLine().Match(line);
        Assert.True(m.Success, "test-xenstore reported: " + line);
        Assert.Equal(test, m.Groups["name"].Value.TrimEnd());
    }
}
