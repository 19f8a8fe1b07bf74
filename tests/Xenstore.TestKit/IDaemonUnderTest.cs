namespace Xenstore.TestKit;

/// <summary>A running Xenstore daemon that tests talk to over its Unix socket (or, embedded, in memory).</summary>
public interface IDaemonUnderTest : IAsyncDisposable
{
    /// <summary>"ours", "embedded", "c" (C 4.17), "c422" (C 4.22) or "ocaml".</summary>
    string Kind { get; }

    /// <summary>The Unix socket path; clients use it as <c>XENSTORED_PATH</c>.</summary>
    string SocketPath { get; }
}
