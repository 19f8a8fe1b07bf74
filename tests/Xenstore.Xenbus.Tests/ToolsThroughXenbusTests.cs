using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// Real clients through xenbusd, unchanged: Debian's xenstore-utils (libxenstore, pointed at xenbusd's socket by
/// XENSTORED_PATH) and our CLI, with the same results as on the daemon's own socket.
/// </summary>
public sealed class ToolsThroughXenbusTests(XenbusFixture fixture) : IClassFixture<XenbusFixture>
{
    private static int s_counter;

    private static string OurCli => Path.Combine(RepositoryPaths.Root, "src", "Xenstore.Cli", "bin",
        RepositoryPaths.Configuration, "net10.0", "xenstore");

    private static void SkipUnlessDebianTools()
    {
        if (!File.Exists("/usr/bin/xenstore-read"))
        {
            Assert.Skip("Debian's xenstore-utils are not installed (scripts/test installs them)");
        }
    }

    private static Task<ProcessResult> Debian(string socket, string tool, params string[] args) =>
        ExternalProcess.RunAsync("/usr/bin/xenstore-" + tool, args, socket);

    private static Task<ProcessResult> Ours(string socket, params string[] args) =>
        ExternalProcess.RunAsync(OurCli, args, socket);

    [Fact]
    public async Task Debian_tools_read_write_and_list_through_xenbusd_as_on_the_daemons_socket()
    {
        SkipUnlessDebianTools();
        string path = $"/t/tools{Interlocked.Increment(ref s_counter)}";
        string through = fixture.Xenbus.SocketPath;
        ProcessResult write = await Debian(through, "write", path + "/a", "one", path + "/b/c", "two");
        Assert.True(write.ExitCode == 0, write.ToString());
        ProcessResult read = await Debian(through, "read", path + "/a", path + "/b/c");
        Assert.Equal((0, "one\ntwo\n"), (read.ExitCode, read.StdOut));
        ProcessResult missing = await Debian(through, "read", path + "/missing");
        Assert.NotEqual(0, missing.ExitCode);

        ProcessResult listedThrough = await Debian(through, "ls", "-p", path);
        ProcessResult listedDirect = await Debian(fixture.Daemon.SocketPath, "ls", "-p", path);
        Assert.Equal(0, listedThrough.ExitCode);
        Assert.Contains("c = \"two\"", listedThrough.StdOut, StringComparison.Ordinal);
        Assert.Equal(listedDirect.StdOut, listedThrough.StdOut);
    }

    [Fact]
    public async Task Many_debian_tools_at_once_through_xenbusd()
    {
        SkipUnlessDebianTools();
        string path = $"/t/storm{Interlocked.Increment(ref s_counter)}";
        string through = fixture.Xenbus.SocketPath;
        ProcessResult[] writes = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Debian(through, "write", $"{path}/{i}", "v" + i)));
        Assert.All(writes, w => Assert.Equal(0, w.ExitCode));
        ProcessResult[] reads = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Debian(through, "read", $"{path}/{i}")));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"v{i}\n"), reads.Select(r => r.StdOut));
    }

    [Fact]
    public async Task Our_cli_works_through_xenbusd()
    {
        string path = $"/t/cli{Interlocked.Increment(ref s_counter)}";
        string through = fixture.Xenbus.SocketPath;
        ProcessResult write = await Ours(through, "write", path + "/k", "v");
        Assert.True(write.ExitCode == 0, write.ToString());
        ProcessResult read = await Ours(through, "read", path + "/k");
        Assert.Equal((0, "v\n"), (read.ExitCode, read.StdOut));
        ProcessResult listedThrough = await Ours(through, "ls", path);
        ProcessResult listedDirect = await Ours(fixture.Daemon.SocketPath, "ls", path);
        Assert.Equal((0, listedDirect.StdOut), (listedThrough.ExitCode, listedThrough.StdOut));
        ProcessResult removed = await Ours(through, "rm", path);
        Assert.Equal(0, removed.ExitCode);
        Assert.NotEqual(0, (await Ours(through, "read", path + "/k")).ExitCode);
    }
}
