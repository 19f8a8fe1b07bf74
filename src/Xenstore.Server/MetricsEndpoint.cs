using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Xenstore.Server;

/// <summary>Prometheus text on <c>http://127.0.0.1:PORT/metrics</c>, opt-in, loopback only.</summary>
internal sealed class MetricsEndpoint(int port, Func<Task<string>> render, ILogger logger) : IDisposable
{
    private HttpListener _listener = new();

    public void Start()
    {
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = ServeAsync();
    }

    /// <summary>
    /// Starts once the port is free: a live update's successor starts while its predecessor still serves the
    /// port, and leaves only once the successor is ready.
    /// </summary>
    public async Task StartWhenFreeAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                Start();
                return;
            }
            catch (HttpListenerException e)
            {
                _listener.Close();
                _listener = new HttpListener();
                if (DateTime.UtcNow > deadline)
                {
                    Log.MetricsFailed(logger, e);
                    return;
                }
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                if (context.Request.Url?.AbsolutePath != "/metrics")
                {
                    context.Response.StatusCode = 404;
                }
                else
                {
                    byte[] body = Encoding.UTF8.GetBytes(await render().ConfigureAwait(false));
                    context.Response.ContentType = "text/plain; version=0.0.4";
                    await context.Response.OutputStream.WriteAsync(body).ConfigureAwait(false);
                }
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                Log.MetricsFailed(logger, e);
            }
        }
    }

    public void Dispose() => _listener.Close();
}
