using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// <c>xenstore replay</c> against the differential table: a trace recorded from our daemon while every scenario
/// runs replays against a fresh daemon of ours with no difference, and against C 4.22 with exactly the
/// differences docs/COMPATIBILITY.md lists (the requests where ours differs from 4.22 on purpose).
/// </summary>
public sealed partial class ReplayTests
{
    private static readonly Lazy<Task<string>> s_trace = new(RecordAsync);

    [Fact]
    public async Task TraceOfTheScenarios_ReplaysAgainstOurs_WithoutDifference()
    {
        string trace = await s_trace.Value;
        await using OurDaemon fresh = await OurDaemon.StartAsync();
        (int code, string stdout, string stderr) = await ReplayAsync(trace, fresh.SocketPath, "--speed", "max");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal("", stdout);
        Assert.Matches(@"^xenstore replay: [1-9]\d* requests on [1-9]\d* connections, 0 differences\n$", stderr);
    }

    [Fact]
    public async Task TraceOfTheScenarios_ReplaysAgainstC422_WithTheDocumentedDifferences()
    {
        string trace = await s_trace.Value;
        await using ReferenceDaemon c422 = await ReferenceDaemon.StartOrSkipAsync("c422");
        (int code, string stdout, string stderr) = await ReplayAsync(trace, c422.SocketPath, "--speed", "max");
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        string[] actual = [.. Differences(stdout).Distinct().Order(StringComparer.Ordinal)];
        string[] documented = [.. DocumentedDifferences().Order(StringComparer.Ordinal)];
        Assert.True(documented.SequenceEqual(actual),
            $"documented:\n{string.Join('\n', documented)}\nreplayed:\n{string.Join('\n', actual)}\n--- full report\n{stdout}");
    }

    [Fact]
    public async Task TransactionIdsAreMapped_AnswersAndEventsThatDifferAreReported()
    {
        // Recorded elsewhere: the transaction was 77 there; the READ answer and the event were not what ours gives.
        string trace = Path.Combine(Directory.CreateTempSubdirectory("xs-replay-").FullName, "trace");
        await File.WriteAllTextAsync(trace, """

            ***
            replay: 0 5 open socket d0
            obj: CREATE connection 0x5
            replay: 10 5 in TRANSACTION_START 1 0 "\0"
            replay: 20 5 out TRANSACTION_START 1 0 "77\0"
            replay: 30 5 in WRITE 2 77 "/replay-tx/a\0v"
            replay: 40 5 out WRITE 2 77 "OK\0"
            replay: 50 5 in TRANSACTION_END 3 77 "T\0"
            replay: 60 5 out TRANSACTION_END 3 77 "OK\0"
            replay: 70 5 in WATCH 4 0 "/replay-tx/a\0tok\0"
            replay: 80 5 out WATCH 4 0 "OK\0"
            replay: 81 5 out WATCH_EVENT 0 0 "/replay-tx/other\0tok\0"
            replay: 90 5 in READ 5 0 "/replay-tx/a\0"
            replay: 95 5 out READ 5 0 "w"
            replay: 100 5 close

            """, TestContext.Current.CancellationToken);
        await using EmbeddedDaemon daemon = await EmbeddedDaemon.StartAsync();
        (int code, string stdout, string stderr) = await ReplayAsync(trace, daemon.SocketPath);
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal("""
            connection 5 (socket d0), line 14: READ "/replay-tx/a\0"
              recorded: READ "w"
              replayed: READ "v"
            connection 5 (socket d0): watch event not replayed: WATCH_EVENT "/replay-tx/other\0tok\0"
            connection 5 (socket d0): watch event not recorded: WATCH_EVENT "/replay-tx/a\0tok\0"

            """, stdout);
        Assert.Equal("xenstore replay: 5 requests on 1 connections, 3 differences\n", stderr);
    }

    [Fact]
    public async Task DamagedTrace_ExitsWith2AndSaysWhere()
    {
        string trace = await s_trace.Value;
        string[] lines = await File.ReadAllLinesAsync(trace, Encoding.Latin1, TestContext.Current.CancellationToken);
        int index = Array.FindIndex(lines, l => l.Contains(" in WRITE ", StringComparison.Ordinal));
        lines[index] = lines[index].Replace(" in WRITE ", " in WRITE x ", StringComparison.Ordinal);
        string damaged = Path.Combine(Path.GetDirectoryName(trace)!, "damaged");
        await File.WriteAllLinesAsync(damaged, lines, Encoding.Latin1, TestContext.Current.CancellationToken);
        (int code, string stdout, string stderr) = await ReplayAsync(damaged, "/nonexistent/socket");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"xenstore replay: {damaged}:{index + 1}: damaged replay record: bad type, request id or transaction id in 'in' record\n", stderr);
    }

    [Fact]
    public async Task TraceWithoutReplayRecords_ExitsWith2AndSaysHowToRecordOne()
    {
        string dir = Directory.CreateTempSubdirectory("xs-replay-").FullName;
        string cOnly = Path.Combine(dir, "trace");
        await File.WriteAllTextAsync(cOnly, "\n***\nobj: CREATE connection 0x1\nio: IN 0x1 (d0) 20261204 16:41:02 READ (/local )\n", TestContext.Current.CancellationToken);
        (int code, _, string stderr) = await ReplayAsync(cOnly, "/nonexistent/socket");
        Assert.Equal(2, code);
        Assert.Equal($"xenstore replay: {cOnly}: no replay records (record them with xenstored -T FILE --trace-control=+replay)\n", stderr);
        (code, _, stderr) = await ReplayAsync(Path.Combine(dir, "missing"), "/nonexistent/socket");
        Assert.Equal(2, code);
        Assert.StartsWith($"xenstore replay: cannot read {Path.Combine(dir, "missing")}: ", stderr, StringComparison.Ordinal);
    }

    /// <summary>Runs every scenario of the table, one after another, against one daemon of ours that records.</summary>
    private static async Task<string> RecordAsync()
    {
        string trace = Path.Combine(Directory.CreateTempSubdirectory("xs-replay-").FullName, "trace");
        await using (OurDaemon daemon = await OurDaemon.StartAsync("-T", trace, "--trace-control=+replay"))
        {
            int index = 0;
            foreach (Scenario scenario in ScenarioTable.All)
            {
                await using var session = new Session(daemon, "d" + ++index);
                await scenario.Run(session);
            }
        }
        return trace;
    }

    /// <summary>The first line of each difference, without its connection and line, the scenario's paths as <c>$B</c>/<c>$R</c>.</summary>
    private static IEnumerable<string> Differences(string report) =>
        report.Split('\n').Where(l => l.StartsWith("connection ", StringComparison.Ordinal))
            .Select(l => Placeholders(ConnectionPrefix().Replace(l, "")));

    /// <summary>The rows of COMPATIBILITY.md's replay table: its first column, a request or event in backquotes.</summary>
    private static IEnumerable<string> DocumentedDifferences()
    {
        string doc = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "COMPATIBILITY.md"));
        int start = doc.IndexOf("<!-- replay-c422 -->", StringComparison.Ordinal);
        int end = doc.IndexOf("<!-- /replay-c422 -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "COMPATIBILITY.md has no replay table between <!-- replay-c422 --> markers");
        return doc[start..end].Split('\n').Select(l => DocumentedRow().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value.Replace("\\|", "|", StringComparison.Ordinal));
    }

    private static string Placeholders(string text) => RelativeName().Replace(BasePath().Replace(text, "$$B"), "$$R");

    private static async Task<(int Code, string Stdout, string Stderr)> ReplayAsync(string trace, string socket, params string[] extra)
    {
        string cli = Path.Combine(RepositoryPaths.Root, "src", "Xenstore.Cli", "bin", RepositoryPaths.Configuration, "net10.0", "xenstore");
        Assert.True(File.Exists(cli), $"our CLI is not built: {cli}");
        var info = new ProcessStartInfo(cli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["replay", trace, "--socket", socket, .. extra])
        {
            info.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [GeneratedRegex(@"^connection \d+ \([^)]*\)(, line \d+)?: ")]
    private static partial Regex ConnectionPrefix();

    [GeneratedRegex(@"^\| `(.+?)` \|")]
    private static partial Regex DocumentedRow();

    [GeneratedRegex(@"/t/d\d+\b")]
    private static partial Regex BasePath();

    [GeneratedRegex(@"\brd\d+\b")]
    private static partial Regex RelativeName();
}
