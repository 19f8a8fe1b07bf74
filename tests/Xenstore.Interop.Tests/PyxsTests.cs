using Xenstore.TestKit;
using static Xenstore.Interop.Tests.ToolAssert;

namespace Xenstore.Interop.Tests;

/// <summary>
/// python3-pyxs (a pure-python client with its own framing and a reader thread) runs the scenarios in
/// <c>python/</c> under the system python; each prints one line per observation, compared exactly.
/// </summary>
public sealed class PyxsTests(SharedDaemons daemons) : IClassFixture<SharedDaemons>
{
    public static TheoryData<string> Kinds => DaemonKinds.Data(DaemonKinds.WithXenbusd);

    private static async Task<ProcessResult> RunScriptAsync(IDaemonUnderTest daemon, string script, string basePath)
    {
        DebianClients.SkipUnlessPresent(DebianClients.SystemPython);
        if (!Directory.Exists("/usr/lib/python3/dist-packages/pyxs"))
        {
            Assert.Skip("python3-pyxs is not installed");
        }
        string path = Path.Combine(AppContext.BaseDirectory, "python", script);
        return await ExternalProcess.RunAsync(DebianClients.SystemPython, [path, basePath], daemon.SocketPath);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task BasicOperations_GiveTheExpectedReplies(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("py");
        Succeeds(await RunScriptAsync(d, "basic.py", p), string.Join('\n',
            "read: b'1'",
            // pyxs drops one trailing NUL of a value; the daemon stored and returned x\0y\0.
            "binary: b'x\\x00y'",
            "mkdir value: b''",
            "list: [b'a', b'bin', b'dir']",
            "exists: (True, False)",
            "default: b'fallback'",
            "missing: 2",
            // pyxs validates paths and permissions itself; these never reach the daemon.
            $"bad path: b'{p}/bad path'",
            "perms: [b'n0']",
            "perms set: [b'n0', b'r5', b'w7']",
            "bad perm: b'x5'",
            $"walk: [(b'{p}', b'', [b'a', b'bin', b'dir']), (b'{p}/a', b'1', []), (b'{p}/bin', b'x\\x00y', []), (b'{p}/dir', b'', [b'sub']), (b'{p}/dir/sub', b'', [])]",
            "after delete: [b'a', b'bin']",
            "rm missing parent: 2",
            "domain path: b'/local/domain/7'",
            "dom0 introduced: True",
            "dom9 introduced: False",
            ""));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Transactions(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("pytx");
        Succeeds(await RunScriptAsync(d, "transactions.py", p), string.Join('\n',
            "first id positive: True",
            "own write visible: b'1'",
            "others see old: b'0'",
            "others miss new: False",
            "commit: True",
            "after commit: (b'1', b'n')",
            "after rollback: b'1'",
            "conflicting commit: False",
            "conflict discarded: False",
            "outside write kept: b'3'",
            ""));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Watches(string kind)
    {
        IDaemonUnderTest d = await daemons.GetAsync(kind);
        string p = SharedDaemons.UniquePath("pyw");
        Succeeds(await RunScriptAsync(d, "watches.py", p), string.Join('\n',
            $"initial: Event(path=b'{p}', token=b'tok')",
            $"write: Event(path=b'{p}/x/y', token=b'tok')",
            $"own write: Event(path=b'{p}/z', token=b'tok')",
            $"initial deep: Event(path=b'{p}/x/y', token=b'deep')",
            $"rm 1: Event(path=b'{p}/x/y', token=b'deep')",
            $"rm 2: Event(path=b'{p}/x', token=b'tok')",
            $"after unwatch, next is: Event(path=b'{p}/sync', token=b'sync')",
            ""));
    }
}
