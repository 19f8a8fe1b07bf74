using Xenstore.TestKit;

namespace Xenstore.Interop.Tests;

/// <summary>Where the real clients live on this machine; a test skips when its client is missing.</summary>
internal static class DebianClients
{
    /// <summary>xenstore-control and test-xenstore come from the extracted xen-utils package (refxs setup).</summary>
    private const string XenUtilsBin = "/tmp/refxs/root/usr/lib/xen-4.17/bin";

    /// <summary>The system python, which has python3-pyxs (the <c>python3</c> on PATH may be another one).</summary>
    public const string SystemPython = "/usr/bin/python3";

    public static string XenstoreControl => Path.Combine(XenUtilsBin, "xenstore-control");

    public static string TestXenstore => Path.Combine(XenUtilsBin, "test-xenstore");

    /// <summary>One of xenstore-utils' tools in /usr/bin, e.g. "read" for xenstore-read.</summary>
    public static string Tool(string name) => name == "control" ? XenstoreControl : "/usr/bin/xenstore-" + name;

    public static void SkipUnlessPresent(string program)
    {
        if (!File.Exists(program))
        {
            Assert.Skip(program + " is not installed (run ../shared/refxs/refxs setup)");
        }
    }

    /// <summary>Runs <c>xenstore-&lt;tool&gt; args…</c> against the daemon.</summary>
    public static Task<ProcessResult> RunToolAsync(IDaemonUnderTest daemon, string tool, params string[] args)
    {
        string program = Tool(tool);
        SkipUnlessPresent(program);
        return ExternalProcess.RunAsync(program, args, daemon.SocketPath);
    }
}
