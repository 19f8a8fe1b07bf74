using System.Text;
using Xenstore.Client;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Cli.Tests;

/// <summary>
/// <c>xenstore --sim-dir DIR --domain N ...</c>: the tools acting as guest N over its ring, against our daemon
/// (--sim-dir) and the reference C xenstored 4.17 and 4.22 with rings, compared with the same tools over the socket.
/// </summary>
public sealed class GuestCliTests(ToolRunner tools) : IClassFixture<ToolRunner>
{
    public static TheoryData<string> Kinds => DaemonKinds.Data(["ours", .. DaemonKinds.ReferenceC]);

    private sealed class Host : IAsyncDisposable
    {
        public required IDaemonUnderTest Daemon { get; init; }

        public required string RingDirectory { get; init; }

        public required XenstoreClient Dom0 { get; init; }

        public static async Task<Host> StartAsync(string kind)
        {
            IDaemonUnderTest daemon;
            string directory;
            if (kind == "ours")
            {
                directory = Directory.CreateTempSubdirectory("xs-sim-").FullName;
                daemon = await OurDaemon.StartAsync("--sim-dir", directory);
            }
            else
            {
                var reference = await ReferenceDaemon.StartOrSkipAsync(kind, rings: true);
                daemon = reference;
                directory = Path.Combine(reference.Home, "rings");
            }
            return new Host { Daemon = daemon, RingDirectory = directory, Dom0 = await XenstoreClient.ConnectAsync(daemon.SocketPath) };
        }

        public async Task IntroduceAsync(uint domid)
        {
            string home = $"/local/domain/{domid}";
            var readable = new[] { new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, domid) };
            await Dom0.WriteAsync(home + "/name", $"guest{domid}");
            await Dom0.SetPermissionsAsync(home, readable);
            await Dom0.SetPermissionsAsync(home + "/name", readable);
            await Dom0.MkdirAsync(home + "/data");
            await Dom0.SetPermissionsAsync(home + "/data", [new XsPermission(XsAccess.None, domid)]);
            await Dom0.IntroduceDomainAsync(domid, 0, 7);
        }

        public async ValueTask DisposeAsync()
        {
            await Dom0.DisposeAsync();
            await Daemon.DisposeAsync();
        }
    }

    private static string Text(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Read_AsGuest_PrintsLikeTheSocketForm(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        await host.IntroduceAsync(5);
        await host.IntroduceAsync(6);
        string dir = host.RingDirectory;
        string socket = host.Daemon.SocketPath;

        ToolResult overSocket = await tools.RunOursAsync(socket, ["xenstore", "read", "/local/domain/5/name"]);
        Assert.Equal("guest5\n", Text(overSocket.Stdout));
        foreach (string[] argv in new[]
                 {
                     new[] { "xenstore", "--sim-dir", dir, "--domain", "5", "read", "name" },
                     ["xenstore", "read", "--sim-dir", dir, "--domain", "5", "name"],
                     ["xenstore", "read", "name", "--sim-dir=" + dir, "--domain=5"],
                     ["xenstore-read", "--sim-dir", dir, "--domain", "5", "name"],
                 })
        {
            ToolResult guest = await tools.RunOursAsync(socket, argv);
            Assert.True(overSocket.Stdout.SequenceEqual(guest.Stdout) && overSocket.Stderr.SequenceEqual(guest.Stderr)
                && overSocket.ExitCode == guest.ExitCode, string.Join(' ', argv) + "\n" + guest);
        }

        // Errors: the same message and exit code as over the socket.
        ToolResult missingSocket = await tools.RunOursAsync(socket, ["xenstore", "read", "data/missing"]);
        ToolResult missingGuest = await tools.RunOursAsync(socket, ["xenstore", "--sim-dir", dir, "--domain", "5", "read", "data/missing"]);
        Assert.Equal(1, missingGuest.ExitCode);
        Assert.Equal(Text(missingSocket.Stderr), Text(missingGuest.Stderr));
        Assert.Equal(missingSocket.ExitCode, missingGuest.ExitCode);

        // Another domain's node: denied, reported as a failed read.
        ToolResult denied = await tools.RunOursAsync(socket, ["xenstore", "--sim-dir", dir, "--domain", "5", "read", "/local/domain/6/name"]);
        Assert.Equal(1, denied.ExitCode);
        Assert.Empty(denied.Stdout);
        Assert.Equal(Text(missingSocket.Stderr).Replace("data/missing", "/local/domain/6/name", StringComparison.Ordinal), Text(denied.Stderr));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task WriteListAndWatch_AsGuest(string kind)
    {
        await using Host host = await Host.StartAsync(kind);
        await host.IntroduceAsync(7);
        string[] guest = ["--sim-dir", host.RingDirectory, "--domain", "7"];
        string socket = host.Daemon.SocketPath;

        ToolResult write = await tools.RunOursAsync(socket, ["xenstore", .. guest, "write", "data/a", "1", "data/b", "2"]);
        Assert.Equal(0, write.ExitCode);
        Assert.Equal("2", await host.Dom0.ReadStringAsync("/local/domain/7/data/b"));
        ToolResult list = await tools.RunOursAsync(socket, ["xenstore-list", .. guest, "data"]);
        Assert.Equal("a\nb\n", Text(list.Stdout));
        ToolResult exists = await tools.RunOursAsync(socket, ["xenstore", "exists", .. guest, "data/zzz"]);
        Assert.Equal(1, exists.ExitCode);
        ToolResult watch = await tools.RunOursAsync(socket, ["xenstore", "watch", "-n", "1", .. guest, "data"]);
        Assert.Equal("data\n", Text(watch.Stdout));
        // The same ring again: each invocation starts a clean session on it.
        ToolResult again = await tools.RunOursAsync(socket, ["xenstore", .. guest, "read", "data/a"]);
        Assert.Equal("1\n", Text(again.Stdout));
    }

    [Fact]
    public async Task EndpointOptions_AreCheckedAndAbsentPagesFailLikeAbsentSockets()
    {
        string dir = Directory.CreateTempSubdirectory("xs-sim-none-").FullName;
        try
        {
            string socket = Path.Combine(dir, "no-socket");
            ToolResult noSocket = await tools.RunOursAsync(socket, ["xenstore", "read", "/x"]);
            ToolResult noPage = await tools.RunOursAsync(socket, ["xenstore", "--sim-dir", dir, "--domain", "4", "read", "/x"]);
            Assert.Equal(noSocket.ExitCode, noPage.ExitCode);
            Assert.Equal(Text(noSocket.Stderr), Text(noPage.Stderr));

            ToolResult alone = await tools.RunOursAsync(socket, ["xenstore", "--domain", "4", "read", "/x"]);
            Assert.Equal((1, "xenstore: --sim-dir and --domain go together\n"), (alone.ExitCode, Text(alone.Stderr)));
            ToolResult bad = await tools.RunOursAsync(socket, ["xenstore", "--sim-dir", dir, "--domain", "x", "read", "/x"]);
            Assert.Equal((1, "xenstore: invalid domain id 'x'\n"), (bad.ExitCode, Text(bad.Stderr)));
            ToolResult missing = await tools.RunOursAsync(socket, ["xenstore-read", "/x", "--sim-dir"]);
            Assert.Equal((1, "xenstore-read: option '--sim-dir' requires an argument\n"), (missing.ExitCode, Text(missing.Stderr)));
            // After "--" they are operands, as any option would be.
            ToolResult operand = await tools.RunOursAsync(socket, ["xenstore", "read", "--", "--domain"]);
            Assert.Equal(Text(noSocket.Stderr), Text(operand.Stderr));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
