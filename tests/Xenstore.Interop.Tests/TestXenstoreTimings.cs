using System.Globalization;
using System.Text;
using Xenstore.TestKit;

namespace Xenstore.Interop.Tests;

/// <summary>
/// The quick comparison figure: test-xenstore's per-test averages for the C reference and for ours, measured in
/// one run with the rounds interleaved (the machine is noisy), medians reported. Written to
/// <c>test-xenstore-timings.txt</c> next to the test assembly and to the test output. Asserts only that every
/// test passed: wall time is reported, never checked.
/// </summary>
public sealed class TestXenstoreTimings
{
    private const int Rounds = 3;
    private const string Iterations = "200";

    [Fact]
    public async Task Record_timings_of_reference_and_ours()
    {
        DebianClients.SkipUnlessPresent(DebianClients.TestXenstore);
        var daemons = new List<IDaemonUnderTest>();
        try
        {
            daemons.Add(await ReferenceDaemon.StartOrSkipAsync("c"));
            if (DaemonKinds.OursBuilt)
            {
                daemons.Add(await OurDaemon.StartAsync());
            }
            var samples = daemons.ToDictionary(d => d.Kind, _ => new Dictionary<string, List<long>>());
            for (int round = 0; round < Rounds; round++)
            {
                foreach (IDaemonUnderTest d in daemons)
                {
                    ProcessResult run = await ExternalProcess.RunAsync(DebianClients.TestXenstore, ["-i", Iterations], d.SocketPath);
                    foreach ((string test, long avg) in TestXenstoreTests.ParseTimings(run))
                    {
                        samples[d.Kind].TryAdd(test, []);
                        samples[d.Kind][test].Add(avg);
                    }
                }
            }
            string report = Format(samples);
            string file = Path.Combine(AppContext.BaseDirectory, "test-xenstore-timings.txt");
            await File.WriteAllTextAsync(file, report, TestContext.Current.CancellationToken);
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            TestContext.Current.TestOutputHelper?.WriteLine("written to " + file);
            if (!DaemonKinds.OursBuilt)
            {
                Assert.Skip("our daemon is not built yet; recorded the reference only, in " + file);
            }
        }
        finally
        {
            foreach (IDaemonUnderTest d in daemons)
            {
                await d.DisposeAsync();
            }
        }
    }

    private static string Format(Dictionary<string, Dictionary<string, List<long>>> samples)
    {
        string[] kinds = samples.Keys.ToArray();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"test-xenstore -i {Iterations}, median of {Rounds} interleaved rounds, average ns per operation\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"test",-12}");
        foreach (string kind in kinds)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{kind,12}");
        }
        if (kinds.Length == 2)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{kinds[1] + "/" + kinds[0],12}");
        }
        sb.Append('\n');
        foreach (string test in TestXenstoreTests.AllTests)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{test,-12}");
            long[] medians = kinds.Select(k => Median(samples[k][test])).ToArray();
            foreach (long median in medians)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{median,12}");
            }
            if (medians.Length == 2)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{(double)medians[1] / medians[0],12:F2}");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static long Median(List<long> values)
    {
        long[] sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
