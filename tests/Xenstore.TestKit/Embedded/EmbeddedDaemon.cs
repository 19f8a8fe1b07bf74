using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Server;

namespace Xenstore.TestKit;

/// <summary>
/// Our server in the test's own process (kind "embedded"): the real store thread, batching and journal, reached by
/// <see cref="RawConnection"/> through in-memory connections, and by other clients through a Unix socket as usual.
/// Starts in milliseconds and can be stepped through in a debugger; what needs a process of its own (signals,
/// SIGKILL, live update, the real clients' environment) stays with <see cref="OurDaemon"/>.
/// </summary>
public sealed class EmbeddedDaemon : IDaemonUnderTest
{
    private readonly XenstoreServer _server;
    private readonly string _directory;

    private EmbeddedDaemon(XenstoreServer server, string directory, string socketPath)
    {
        _server = server;
        _directory = directory;
        SocketPath = socketPath;
    }

    public string Kind => "embedded";

    public string SocketPath { get; }

    /// <summary>The server itself, for tests that need more than a connection.</summary>
    public XenstoreServer Server => _server;

    /// <summary>
    /// Starts a server with a socket and a state directory of its own (journal included, as the daemon runs by
    /// default); <paramref name="configure"/> may change any other option.
    /// </summary>
    public static async Task<EmbeddedDaemon> StartAsync(Func<ServerOptions, ServerOptions>? configure = null, ILoggerFactory? loggers = null)
    {
        string directory = Directory.CreateTempSubdirectory("xs-embedded-").FullName;
        string socketPath = Path.Combine(directory, "socket");
        var options = new ServerOptions { SocketPath = socketPath, StateDirectory = Path.Combine(directory, "state") };
        options = configure?.Invoke(options) ?? options;
        var server = new XenstoreServer(options, loggers ?? NullLoggerFactory.Instance);
        await server.StartAsync().ConfigureAwait(false);
        return new EmbeddedDaemon(server, directory, socketPath);
    }

    /// <summary>A new in-memory connection (dom0 unless told otherwise).</summary>
    public Stream ConnectInMemory(uint domid = 0, bool privileged = true) => _server.ConnectInMemory(domid, privileged);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temporary directory is left behind.
        }
    }
}
