using Xenstore.TestKit;
using static Xenstore.Interop.Tests.DebianClients;
using static Xenstore.Interop.Tests.ToolAssert;

namespace Xenstore.Interop.Tests;

/// <summary>
/// Debian's xenstore-utils (libxenstore clients) against the daemon under test: exact output and exit codes, as
/// C xenstored produces them. Each test works under a path of its own on a daemon shared by the class.
/// </summary>
public sealed class XenstoreUtilsTests(SharedDaemons daemons) : IClassFixture<SharedDaemons>
{
    public static TheoryData<string> Kinds => DaemonKinds.Differential;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task WriteThenRead_PrintsValues_AndFailsOnAMissingPath(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("rw");
        Succeeds(await RunToolAsync(d, "write", $"{p}/b", "1", $"{p}/c", "hello world", $"{p}/d/e", "deep"));
        Succeeds(await RunToolAsync(d, "read", $"{p}/b", $"{p}/c", $"{p}/d/e"), "1\nhello world\ndeep\n");
        Succeeds(await RunToolAsync(d, "read", $"{p}/d"), "\n");
        Succeeds(await RunToolAsync(d, "read", "-p", $"{p}/b"), $"{p}/b: 1\n");
        // The value is printed first, then the missing one fails the whole command.
        Exactly(await RunToolAsync(d, "read", $"{p}/b", $"{p}/missing"), 1, "1\n", $"xenstore-read: couldn't read path {p}/missing\n");
        Exactly(await RunToolAsync(d, "read", $"{p}/missing/deeper"), 1, "", $"xenstore-read: couldn't read path {p}/missing/deeper\n");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Write_ExpandsEscapes_ReadEscapesAgainUnlessRaw(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("esc");
        // xenstore-write expands C escapes; xenstore-read re-escapes unprintable bytes unless -R.
        Succeeds(await RunToolAsync(d, "write", $"{p}/a", "x\\ty\\\\z\\001"));
        Succeeds(await RunToolAsync(d, "read", $"{p}/a"), "x\\ty\\\\z\\001\n");
        Succeeds(await RunToolAsync(d, "read", "-R", $"{p}/a"), "x\ty\\z\u0001");
        Succeeds(await RunToolAsync(d, "ls", p), "a = \"x\\ty\\\\z\\001\"\n");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Write_InvalidPathOrNoValue_Fails(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        Exactly(await RunToolAsync(d, "write", "/t/bad path", "1"), 1, "", "xenstore-write: could not write path /t/bad path\n");
        Exactly(await RunToolAsync(d, "write", "/t/trailing/", "1"), 1, "", "xenstore-write: could not write path /t/trailing/\n");
        Exactly(await RunToolAsync(d, "write", "/t//double", "1"), 1, "", "xenstore-write: could not write path /t//double\n");
        Exactly(await RunToolAsync(d, "write", "/t/odd"), 1, "", "xenstore-write: Usage: /usr/bin/xenstore-write [-h] [-s] [-R] key value [...]\n");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RelativePath_ResolvesUnderDomain0(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string name = SharedDaemons.UniquePath("rel")[3..];
        Succeeds(await RunToolAsync(d, "write", name, "2"));
        Succeeds(await RunToolAsync(d, "read", $"/local/domain/0/{name}", name), "2\n2\n");
        Succeeds(await RunToolAsync(d, "rm", name));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Ls_EachOption_FormatsTheTreeAsC(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("ls");
        Succeeds(await RunToolAsync(d, "write", $"{p}/b", "1", $"{p}/c", "hello world", $"{p}/d/e", "deep"));
        Succeeds(await RunToolAsync(d, "ls", p),
            "b = \"1\"\nc = \"hello world\"\nd = \"\"\n e = \"deep\"\n");
        Succeeds(await RunToolAsync(d, "ls", "-f", p),
            $"{p}/b = \"1\"\n{p}/c = \"hello world\"\n{p}/d = \"\"\n{p}/d/e = \"deep\"\n");
        // Without a terminal the width is 80 columns: values are padded with dots up to the permission column.
        Succeeds(await RunToolAsync(d, "ls", "-p", p),
            "b = \"1\"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n" +
            "c = \"hello world\"  . . . . . . . . . . . . . . . . . . . . .  (n0)\n" +
            "d = \"\" . . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n" +
            " e = \"deep\"  . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n");
        Succeeds(await RunToolAsync(d, "ls", "-f", "-p", p),
            $"{p}/b = \"1\"   (n0)\n{p}/c = \"hello world\"   (n0)\n{p}/d = \"\"   (n0)\n{p}/d/e = \"deep\"   (n0)\n");
        Exactly(await RunToolAsync(d, "ls", $"{p}/nonexist"), 1, "", $"xenstore-ls: xs_directory ({p}/nonexist): No such file or directory\n");
        // Children come in creation order (C keeps insertion order; a re-created child goes last).
        Succeeds(await RunToolAsync(d, "rm", $"{p}/b"));
        Succeeds(await RunToolAsync(d, "write", $"{p}/b", "again"));
        Succeeds(await RunToolAsync(d, "ls", p), "c = \"hello world\"\nd = \"\"\n e = \"deep\"\nb = \"again\"\n");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ListAndExists_ExitByWhetherTheNodesExist(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("list");
        Succeeds(await RunToolAsync(d, "write", $"{p}/b", "1", $"{p}/c", "2", $"{p}/d/e", "3"));
        Succeeds(await RunToolAsync(d, "list", p), "b\nc\nd\n");
        Succeeds(await RunToolAsync(d, "list", "-p", p), $"{p}/b\n{p}/c\n{p}/d\n");
        Succeeds(await RunToolAsync(d, "list", $"{p}/b"));
        Exactly(await RunToolAsync(d, "list", $"{p}/nonexist"), 1, "", $"xenstore-list: could not list path {p}/nonexist\n");
        Succeeds(await RunToolAsync(d, "exists", $"{p}/b"));
        Succeeds(await RunToolAsync(d, "exists", $"{p}/b", $"{p}/d/e"));
        Exactly(await RunToolAsync(d, "exists", $"{p}/zz"), 1, "");
        Exactly(await RunToolAsync(d, "exists", $"{p}/b", $"{p}/zz"), 1, "");
        Exactly(await RunToolAsync(d, "exists", $"{p}/zz/yy"), 1, "");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Rm_RemovesSubtrees_AndWithTEmptyParents(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("rm");
        Succeeds(await RunToolAsync(d, "write", $"{p}/a", "1", $"{p}/b", "2", $"{p}/keep", "k"));
        Succeeds(await RunToolAsync(d, "rm", $"{p}/a", $"{p}/b"));
        Succeeds(await RunToolAsync(d, "list", p), "keep\n");
        // A missing node under an existing parent is not an error; a missing parent is.
        Succeeds(await RunToolAsync(d, "rm", $"{p}/zz"));
        Exactly(await RunToolAsync(d, "rm", $"{p}/zz/yy"), 1, "", $"xenstore-rm: could not remove path {p}/zz/yy\n");
        // rm removes the whole subtree.
        Succeeds(await RunToolAsync(d, "write", $"{p}/s/t/u", "1", $"{p}/s/v", "2"));
        Succeeds(await RunToolAsync(d, "rm", $"{p}/s"));
        Exactly(await RunToolAsync(d, "exists", $"{p}/s"), 1, "");
        // rm -t also removes parents that become empty (no value, no other child), stopping at the first that is not.
        Succeeds(await RunToolAsync(d, "write", $"{p}/x", "v", $"{p}/x/y/z", "1"));
        Succeeds(await RunToolAsync(d, "rm", "-t", $"{p}/x/y/z"));
        Succeeds(await RunToolAsync(d, "ls", "-f", p), $"{p}/keep = \"k\"\n{p}/x = \"v\"\n");
        Succeeds(await RunToolAsync(d, "write", $"{p}/e1/e2/e3", ""));
        Succeeds(await RunToolAsync(d, "rm", "-t", $"{p}/e1/e2/e3"));
        Succeeds(await RunToolAsync(d, "list", p), "keep\nx\n");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Chmod(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("chmod");
        Succeeds(await RunToolAsync(d, "write", $"{p}/a", "1", $"{p}/a/b/c", "2"));
        Succeeds(await RunToolAsync(d, "chmod", $"{p}/a", "n0", "r5"));
        Succeeds(await RunToolAsync(d, "ls", "-f", "-p", $"{p}/a"), $"{p}/a/b = \"\"   (n0)\n{p}/a/b/c = \"2\"   (n0)\n");
        Succeeds(await RunToolAsync(d, "ls", "-p", p),
            "a = \"1\"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0,r5)\n" +
            " b = \"\"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n" +
            "  c = \"2\"  . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)\n");
        Succeeds(await RunToolAsync(d, "chmod", $"{p}/a", "r1", "w2", "b3", "n4"));
        Succeeds(await RunToolAsync(d, "ls", "-f", "-p", p), $"{p}/a = \"1\"   (r1,w2,b3,n4)\n{p}/a/b = \"\"   (n0)\n{p}/a/b/c = \"2\"   (n0)\n");
        // -r applies to the whole subtree.
        Succeeds(await RunToolAsync(d, "chmod", "-r", $"{p}/a", "b7"));
        Succeeds(await RunToolAsync(d, "ls", "-f", "-p", p), $"{p}/a = \"1\"   (b7)\n{p}/a/b = \"\"   (b7)\n{p}/a/b/c = \"2\"   (b7)\n");
        // libxenstore turns a bare letter into domid 0 (and ignores trailing junk) before sending.
        Succeeds(await RunToolAsync(d, "chmod", $"{p}/a", "r"));
        Succeeds(await RunToolAsync(d, "ls", "-f", "-p", $"{p}/a/b"), $"{p}/a/b/c = \"2\"   (b7)\n");
        Succeeds(await RunToolAsync(d, "chmod", $"{p}/a/b", "rx"));
        Succeeds(await RunToolAsync(d, "ls", "-f", "-p", $"{p}/a"), $"{p}/a/b = \"\"   (r0)\n{p}/a/b/c = \"2\"   (b7)\n");
        Exactly(await RunToolAsync(d, "chmod", $"{p}/a", "x1"), 1, "", "xenstore-chmod: Invalid permission specification: 'x'\n");
        // No permission at all reaches the daemon as SET_PERMS with only a path: EINVAL.
        Exactly(await RunToolAsync(d, "chmod", $"{p}/a"), 1, "", $"xenstore-chmod: Error occurred setting permissions on '{p}/a': Invalid argument\n");
        Exactly(await RunToolAsync(d, "chmod", $"{p}/zz", "n0"), 1, "", $"xenstore-chmod: Error occurred setting permissions on '{p}/zz': No such file or directory\n");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ChmodUpwards_AppliesToEveryAncestorBelowTheRoot(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        // A top-level node of its own: -u changes every ancestor below the root.
        string top = "/" + SharedDaemons.UniquePath("up")[3..];
        Succeeds(await RunToolAsync(d, "write", $"{top}/a/b/c", "1"));
        Succeeds(await RunToolAsync(d, "chmod", "-u", $"{top}/a/b", "r1"));
        await using var conn = await RawConnection.ConnectAsync(d);
        Assert.Equal(["n0"], (await conn.GetPermsAsync("/")).Strings);
        Assert.Equal(["r1"], (await conn.GetPermsAsync(top)).Strings);
        Assert.Equal(["r1"], (await conn.GetPermsAsync($"{top}/a")).Strings);
        Assert.Equal(["r1"], (await conn.GetPermsAsync($"{top}/a/b")).Strings);
        Assert.Equal(["n0"], (await conn.GetPermsAsync($"{top}/a/b/c")).Strings);
        Succeeds(await RunToolAsync(d, "rm", top));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task WatchN_PrintsTheInitialEventThenTheChanges(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        SkipUnlessPresent(Tool("watch"));
        string p = SharedDaemons.UniquePath("watch");
        using var watcher = ExternalProcess.Start(Tool("watch"), ["-n", "4", p], d.SocketPath);
        // The first line is the initial event, so the watch is registered once it appears.
        string? first = await watcher.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
        Assert.Equal(p, first);
        await using (var conn = await RawConnection.ConnectAsync(d))
        {
            Assert.True((await conn.WriteAsync($"{p}/a", "1")).IsOk);
            Assert.True((await conn.WriteAsync($"{p}/a/deeper", "2")).IsOk);
            Assert.True((await conn.WriteAsync($"{p}x", "not under the watch")).IsOk);
            Assert.True((await conn.RmAsync(p)).IsOk);
        }
        ProcessResult rest = await ExternalProcess.CollectAsync(watcher);
        Succeeds(rest, $"{p}/a\n{p}/a/deeper\n{p}\n");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Watch_NoKeyOrBadPath_Fails(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        Exactly(await RunToolAsync(d, "watch"), 1, "", "xenstore-watch: Usage: /usr/bin/xenstore-watch [-h] [-n NR] key\n");
        Exactly(await RunToolAsync(d, "watch", "/bad path"), 1, "", "xenstore-watch: Unable to add watch on /bad path\n\n");
    }
}
