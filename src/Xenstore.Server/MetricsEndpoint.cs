using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Xenstore.Server;

/// <summary>Prometheus text on <c>http://127.0.0.1:PORT/metrics</c>, opt-in, loopback only.</summary>
internal sealed class MetricsEndpoint(int port, Func<Task<string>> render, ILogger logger) : IDisposable
{
    private readonly HttpListener _listener = new();

    public void Start()
    {
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = ServeAsync();
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
