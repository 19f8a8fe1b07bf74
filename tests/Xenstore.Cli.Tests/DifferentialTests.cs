using Xenstore.Client;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Cli.Tests;

/// <summary>
/// Runs Debian's xenstore-utils and our CLI with the same arguments against the same daemon, from the same store
/// contents, and requires identical stdout, stderr, exit code and resulting store.
/// </summary>
public abstract class DifferentialTests
{
    /// <summary>The invocations compared: argv (argv[0] first), covering output, options and errors.</summary>
    private static readonly string[][] s_cases =
    [
        // read
        ["xenstore-read", "/cli/a"],
        ["xenstore-read", "/cli/bin"],
        ["xenstore-read", "-R", "/cli/bin"],
        ["xenstore-read", "-p", "/cli/a", "/cli/b"],
        ["xenstore-read", "/cli/a", "/cli/missing", "/cli/b"],
        ["xenstore-read", "/cli/missing"],
        ["xenstore-read", ""],
        ["xenstore-read", "/cli//a"],
        ["xenstore-read"],
        ["xenstore-read", "-h"],
        ["xenstore-read", "-z", "/cli/a"],
        ["xenstore-read", "--pre", "/cli/a"],
        ["xenstore-read", "--r", "/cli/a"],
        ["xenstore-read", "--raw=1", "/cli/a"],
        ["xenstore-read", "--bogus", "/cli/a"],
        ["xenstore-read", "/cli/a", "-p"],
        ["xenstore-read", "--", "-p"],
        ["xenstore-read", "-s", "/cli/a"],
        ["xenstore-read", "-t", "/cli/a"],
        ["xenstore-read", "-d", "1", "/cli/a"],
        ["xenstore", "read", "/cli/a", "/cli/b"],
        ["xenstore", "read"],
        ["xenstore", "read", "-x", "/cli/a"],
        ["xenstore"],
        ["xenstore", "frobnicate"],
        // write
        ["xenstore-write", "/cli/w", "plain"],
        ["xenstore-write", "/cli/w", @"tab\there\x41\101\q\x4g\"],
        ["xenstore-write", "-R", "/cli/w", @"raw\tvalue"],
        ["xenstore-write", "/cli/w1", "1", "/cli/w2", "", "/cli/w3/deep", "3"],
        ["xenstore-write", "/cli/w"],
        ["xenstore-write", "/cli//bad", "x"],
        ["xenstore-write", "-p", "/cli/w", "x"],
        // list
        ["xenstore-list", "/cli"],
        ["xenstore-list", "-p", "/cli"],
        ["xenstore-list", "-p", "/"],
        ["xenstore-list", "/cli/a"],
        ["xenstore-list", "/cli/missing"],
        ["xenstore-list", "/cli", "/cli/missing"],
        // ls
        ["xenstore-ls", "/cli"],
        ["xenstore-ls", "-f", "/cli"],
        ["xenstore-ls", "-p", "/cli"],
        ["xenstore-ls", "-f", "-p", "/cli"],
        ["xenstore-ls", "/cli/deep", "/cli/b"],
        ["xenstore-ls", "/cli/missing"],
        ["xenstore-ls", "/cli//x"],
        ["xenstore-ls", "-R", "/cli"],
        ["xenstore", "ls", "-f", "/cli/deep"],
        // rm
        ["xenstore-rm", "/cli/a"],
        ["xenstore-rm", "/cli/missing"],
        ["xenstore-rm", "/cli/missing/child"],
        ["xenstore-rm", "-t", "/cli/tidy/one/two"],
        ["xenstore-rm", "/cli/a", "/cli/missing/child"],
        ["xenstore-rm"],
        // exists
        ["xenstore-exists", "/cli/a"],
        ["xenstore-exists", "/cli/a", "/cli/missing"],
        ["xenstore-exists", "-p", "/cli/a"],
        // chmod
        ["xenstore-chmod", "/cli/a", "r5", "w3"],
        ["xenstore-chmod", "/cli/a", "b"],
        ["xenstore-chmod", "/cli/a", "r-1"],
        ["xenstore-chmod", "/cli/a", "x5"],
        ["xenstore-chmod", "/cli/a"],
        ["xenstore-chmod", "/cli/missing/x", "n0"],
        ["xenstore-chmod", "-r", "/cli/deep", "n0", "r7"],
        ["xenstore-chmod", "-u", "/cli/deep/x/y", "b0"],
        ["xenstore-chmod", "-u", "cli/a", "n1"],
        // watch
        ["xenstore-watch", "-n", "1", "/cli"],
        ["xenstore-watch", "-n", "2", "/cli/a", "/cli/b"],
        ["xenstore-watch", "-n", "0", "/cli"],
        ["xenstore-watch", "-n", "1", "/cli//bad"],
        ["xenstore-watch", "-n"],
        ["xenstore-watch", "-p", "/cli"],
    ];

    private readonly Daemons _daemons;
    private readonly ToolRunner _tools;

    private protected DifferentialTests(Daemons daemons, ToolRunner tools)
    {
        _daemons = daemons;
        _tools = tools;
    }

    /// <summary>The daemon both tools talk to: "c", "c422" or "ours".</summary>
    protected abstract string Kind { get; }

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        for (int i = 0; i < s_cases.Length; i++)
        {
            data.Add(i, string.Join(' ', s_cases[i]));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task SameOutput_SameErrors_SameExitCode_SameStore(int index, string display)
    {
        string kind = Kind;
        Assert.SkipUnless(ToolRunner.DebianToolsPresent, "Debian's xenstore-utils are not installed");
        string[] argv = s_cases[index];
        IDaemonUnderTest daemon = await _daemons.GetAsync(kind);

        await using XenstoreClient client = await XenstoreClient.ConnectAsync(daemon.SocketPath);
        await Fixture.ResetAsync(client);
        ToolResult debian = await ToolRunner.RunDebianAsync(daemon.SocketPath, argv);
        string debianStore = await Fixture.DumpAsync(client);

        await Fixture.ResetAsync(client);
        ToolResult ours = await _tools.RunOursAsync(daemon.SocketPath, argv);
        string ourStore = await Fixture.DumpAsync(client);

        Assert.True(debian.ExitCode == ours.ExitCode && debian.Stdout.AsSpan().SequenceEqual(ours.Stdout)
            && debian.Stderr.AsSpan().SequenceEqual(ours.Stderr),
            $"{display}\n--- debian ---\n{debian}\n--- ours ---\n{ours}");
        Assert.Equal(debianStore, ourStore);
    }

    /// <summary>One daemon per kind for the whole class; cases run one after another and reset /cli each time.</summary>
    public sealed class Daemons : IAsyncDisposable
    {
        private readonly Dictionary<string, Task<IDaemonUnderTest>> _started = [];
        private readonly Lock _lock = new();

        public Task<IDaemonUnderTest> GetAsync(string kind)
        {
            lock (_lock)
            {
                if (!_started.TryGetValue(kind, out Task<IDaemonUnderTest>? daemon))
                {
                    daemon = StartAsync(kind);
                    _started[kind] = daemon;
                }
                return daemon;
            }
        }

        // Awaited rather than continued, so that a reference daemon's skip stays a skip (not a wrapped failure).
        private static async Task<IDaemonUnderTest> StartAsync(string kind) =>
            kind == "ours" ? await OurDaemon.StartAsync() : await ReferenceDaemon.StartOrSkipAsync(kind);

        public async ValueTask DisposeAsync()
        {
            foreach (Task<IDaemonUnderTest> daemon in _started.Values)
            {
                if (daemon.IsCompletedSuccessfully)
                {
                    await daemon.Result.DisposeAsync();
                }
            }
        }
    }

    /// <summary>The store contents every case starts from, and a dump to compare what the tools changed.</summary>
    private static class Fixture
    {
        public static async Task ResetAsync(XenstoreClient client)
        {
            await client.RemoveAsync("/cli");
            await client.WriteAsync("/cli/a", "hello");
            await client.WriteAsync("/cli/b", "world");
            await client.WriteAsync("/cli/bin", new byte[] { 1, 7, 8, (byte)'\t', (byte)'\n', (byte)'\r', (byte)'\\', (byte)'"', 0x1b, 0x7f, 0x80, 0xff, 0 });
            await client.WriteAsync("/cli/long", new string('v', 150));
            await client.WriteAsync("/cli/a-rather-long-node-name-that-goes-on-and-on-and-on-past-the-width-limit-of-eighty", "x");
            await client.WriteAsync("/cli/deep/x/y/z", "leaf");
            await client.WriteAsync("/cli/perm", "p");
            await client.SetPermissionsAsync("/cli/perm", [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, 5)]);
            await client.MkdirAsync("/cli/tidy/one/two");
        }

        public static async Task<string> DumpAsync(XenstoreClient client)
        {
            var lines = new List<string>();
            await DumpAsync(client, "/cli", lines);
            return string.Join('\n', lines);
        }

        private static async Task DumpAsync(XenstoreClient client, string path, List<string> lines)
        {
            byte[]? value = await client.TryReadAsync(path);
            if (value is null)
            {
                return;
            }
            XsPermission[] permissions = await client.GetPermissionsAsync(path);
            lines.Add($"{path} = {Convert.ToHexString(value)} ({string.Join(',', permissions)})");
            foreach (string child in (await client.ListAsync(path)).Order(StringComparer.Ordinal))
            {
                await DumpAsync(client, path + "/" + child, lines);
            }
        }
    }
}

/// <summary>Both tools against Debian's C xenstored 4.17.</summary>
public sealed class DifferentialOnCDaemonTests(DifferentialTests.Daemons daemons, ToolRunner tools)
    : DifferentialTests(daemons, tools), IClassFixture<DifferentialTests.Daemons>, IClassFixture<ToolRunner>
{
    protected override string Kind => "c";
}

/// <summary>Both tools against upstream C xenstored 4.22.</summary>
public sealed class DifferentialOnC422DaemonTests(DifferentialTests.Daemons daemons, ToolRunner tools)
    : DifferentialTests(daemons, tools), IClassFixture<DifferentialTests.Daemons>, IClassFixture<ToolRunner>
{
    protected override string Kind => "c422";
}

/// <summary>Both tools against our daemon (a separate class, so it runs in parallel with the C one).</summary>
public sealed class DifferentialOnOurDaemonTests(DifferentialTests.Daemons daemons, ToolRunner tools)
    : DifferentialTests(daemons, tools), IClassFixture<DifferentialTests.Daemons>, IClassFixture<ToolRunner>
{
    protected override string Kind => "ours";
}
