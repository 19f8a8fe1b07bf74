using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Xenstore.Client;
using Xenstore.Client.Internal;
using Xenstore.Protocol;
using Xenstore.Xenbus.Mux;

namespace Xenstore.Xenbus.Upstream;

/// <summary>
/// The one connection to the daemon, opened again whenever it is lost. Each opening is a numbered link; the
/// multiplexer hears of it (up, every message, down) through events carrying that number, so nothing of an old
/// link is ever mistaken for the current one. Writes come from the multiplexer and go out in its order.
/// </summary>
internal sealed class UpstreamLink
{
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_maxRetry = TimeSpan.FromSeconds(1);
    private const int WriteBatch = 64 * 1024;

    private readonly Endpoint _endpoint;
    private readonly TimeSpan _handshakeTimeout;
    private readonly Action<MuxEvent> _post;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private int _link;
    private Channel<byte[]>? _output;
    private CancellationTokenSource? _linkStop;

    public UpstreamLink(XenbusSettings settings, Action<MuxEvent> post, ILogger logger)
    {
        _endpoint = settings.Upstream switch
        {
            UpstreamKind.SimulatedRing => new Endpoint(EndpointKind.SimulatedRing, settings.UpstreamPath, settings.Domain),
            UpstreamKind.Device => new Endpoint(EndpointKind.Device, settings.UpstreamPath),
            _ => new Endpoint(EndpointKind.SocketOrDevice, settings.UpstreamPath),
        };
        _handshakeTimeout = settings.UpstreamTimeout;
        _post = post;
        _logger = logger;
    }

    public string Display => _endpoint.Display;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        TimeSpan retry = s_firstRetry;
        string? lastFailure = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            Stream stream;
            try
            {
                stream = await Transport.OpenAsync(_endpoint, _handshakeTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception e) when (e is XenstoreConnectionException or IOException or UnauthorizedAccessException)
            {
                if (e.Message != lastFailure)
                {
                    Log.UpstreamUnreachable(_logger, Display, e.Message);
                    lastFailure = e.Message;
                }
                await Task.Delay(retry, cancellationToken).ConfigureAwait(false);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, s_maxRetry.Ticks));
                continue;
            }
            lastFailure = null;
            retry = s_firstRetry;
            await ServeAsync(stream, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a whole message on link <paramref name="link"/>; dropped when that link is gone.</summary>
    public void Send(int link, byte[] message)
    {
        lock (_gate)
        {
            if (link == _link)
            {
                _output?.Writer.TryWrite(message);
            }
        }
    }

    /// <summary>Drops link <paramref name="link"/> (the daemon stopped answering); a new one is opened.</summary>
    public void Reset(int link)
    {
        lock (_gate)
        {
            if (link == _link)
            {
                _linkStop?.Cancel();
            }
        }
    }

    private async Task ServeAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var linkStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var output = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        int link;
        lock (_gate)
        {
            link = ++_link;
            _output = output;
            _linkStop = linkStop;
        }
        Log.UpstreamConnected(_logger, Display, link);
        _post(new MuxEvent.UpstreamUp(link));
        string? writeFailure = null;
        Task writer = Task.Run(async () =>
        {
            try
            {
                await WriteLoopAsync(stream, output.Reader, linkStop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException
                or System.Net.Sockets.SocketException)
            {
                writeFailure ??= e.Message;
            }
            linkStop.Cancel();
        }, CancellationToken.None);
        string reason = await ReadLoopAsync(stream, link, linkStop.Token).ConfigureAwait(false);
        lock (_gate)
        {
            _output = null;
            _linkStop = null;
            output.Writer.TryComplete();
        }
        await linkStop.CancelAsync().ConfigureAwait(false);
        await writer.ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
        _post(new MuxEvent.UpstreamDown(link, writeFailure ?? reason));
        Log.UpstreamLost(_logger, link, writeFailure ?? reason);
    }

    private async Task<string> ReadLoopAsync(Stream stream, int link, CancellationToken cancellationToken)
    {
        var buffer = new byte[4 * (XsConstants.HeaderSize + XsConstants.PayloadMax)];
        int filled = 0;
        try
        {
            while (true)
            {
                int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return "the daemon closed the connection";
                }
                filled += read;
                int start = 0;
                while (true)
                {
                    FrameStatus status = FrameParser.TryParse(buffer.AsSpan(start, filled - start), out XsHeader header, out int length);
                    if (status == FrameStatus.TooLarge)
                    {
                        return $"the daemon sent a message of {header.Length} bytes";
                    }
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    _post(new MuxEvent.UpstreamMessage(link, header, buffer.AsSpan(start + XsConstants.HeaderSize, (int)header.Length).ToArray()));
                    start += length;
                }
                Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                filled -= start;
            }
        }
        catch (OperationCanceledException)
        {
            return "the link was dropped";
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return e.Message;
        }
    }

    private static async Task WriteLoopAsync(Stream stream, ChannelReader<byte[]> reader, CancellationToken cancellationToken)
    {
        var batch = new byte[WriteBatch];
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            int used = 0;
            // Whole messages only; the device stream splits a batch into one write per message itself.
            while (reader.TryPeek(out byte[]? next) && used + next.Length <= WriteBatch)
            {
                reader.TryRead(out _);
                next.CopyTo(batch, used);
                used += next.Length;
            }
            await stream.WriteAsync(batch.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
        }
    }
}
