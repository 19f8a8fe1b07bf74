using Microsoft.Extensions.Logging;
using Xenstore.Xenbus.Clients;
using Xenstore.Xenbus.Loop;
using Xenstore.Xenbus.Mux;
using Xenstore.Xenbus.Upstream;

namespace Xenstore.Xenbus;

/// <summary>The composition root: the client socket, the upstream link, the multiplexer and the loop that drives them.</summary>
internal sealed class XenbusDaemon : IDisposable
{
    private readonly UpstreamLink _upstream;
    private readonly Multiplexer _multiplexer;
    private readonly ClientListener _listener;
    private readonly EventLoop _loop;

    public XenbusDaemon(XenbusSettings settings, string socketPath, ILoggerFactory loggers)
    {
        _upstream = new UpstreamLink(settings, loggers.CreateLogger("xenbusd.upstream"));
        _multiplexer = new Multiplexer(settings, _upstream, loggers.CreateLogger("xenbusd"));
        _listener = new ClientListener(socketPath, loggers.CreateLogger("xenbusd.clients"));
        _loop = new EventLoop(_multiplexer, _upstream, _listener, settings.ClientQueueBytes, loggers.CreateLogger("xenbusd.clients"));
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public string Upstream => _upstream.Display;

    public Limits Limits => _multiplexer.Limits;

    /// <summary>Binds the client socket (throws when it cannot).</summary>
    public void Listen() => _listener.Start();

    /// <summary>Serves on a thread of its own until <see cref="Stop"/>.</summary>
    public Task RunAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                _loop.Run();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { Name = "xenbusd", IsBackground = true };
        thread.Start();
        return done.Task;
    }

    public void Stop() => _loop.Stop();

    public void Dispose()
    {
        _listener.Dispose();
        _upstream.Dispose();
        _loop.Dispose();
    }
}
