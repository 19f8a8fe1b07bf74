using Microsoft.Extensions.Logging;
using Xenstore.Xenbus.Clients;
using Xenstore.Xenbus.Mux;
using Xenstore.Xenbus.Upstream;

namespace Xenstore.Xenbus;

/// <summary>The composition root: the client socket, the multiplexer and the upstream link, run until stopped.</summary>
internal sealed class XenbusDaemon : IDisposable
{
    private readonly Multiplexer _multiplexer;
    private readonly UpstreamLink _upstream;
    private readonly ClientListener _listener;
    private readonly CancellationTokenSource _stop = new();

    public XenbusDaemon(XenbusSettings settings, string socketPath, ILoggerFactory loggers)
    {
        _multiplexer = new Multiplexer(settings, loggers.CreateLogger("xenbusd"));
        _upstream = new UpstreamLink(settings, _multiplexer.Post, loggers.CreateLogger("xenbusd.upstream"));
        _listener = new ClientListener(socketPath, _multiplexer.Post, settings.ClientQueueBytes, loggers.CreateLogger("xenbusd.clients"));
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public string Upstream => _upstream.Display;

    public Limits Limits => _multiplexer.Limits;

    /// <summary>Binds the client socket (throws when it cannot).</summary>
    public void Listen() => _listener.Start();

    /// <summary>Serves until <see cref="Stop"/>.</summary>
    public async Task RunAsync()
    {
        Task multiplexer = _multiplexer.RunAsync(_upstream, _stop.Token);
        Task upstream = _upstream.RunAsync(_stop.Token);
        Task accept = _listener.AcceptLoopAsync(_stop.Token);
        await Task.WhenAll(multiplexer, upstream, accept).ConfigureAwait(false);
    }

    public void Stop() => _stop.Cancel();

    public void Dispose()
    {
        _listener.Dispose();
        _stop.Dispose();
    }
}
