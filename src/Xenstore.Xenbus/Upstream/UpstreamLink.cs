using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xenstore.Client;
using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Xenbus.Upstream;

/// <summary>
/// The one connection to the daemon, opened again whenever it is lost. Each opening is a numbered link, so nothing of
/// an old link is ever mistaken for the current one. Opening (a connect, the ring's RECONNECTION handshake, the
/// back-off between attempts) happens off the event loop; everything else — reads, writes, dropping — happens on it:
/// the loop polls <see cref="Transport"/>, receives what it holds and flushes what the multiplexer queued.
/// </summary>
internal sealed class UpstreamLink : IDisposable
{
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_maxRetry = TimeSpan.FromSeconds(1);

    /// <summary>Bytes read from the upstream in one pass at most, so that clients get their turn.</summary>
    private const int ReadBudget = 256 * 1024;

    private readonly Endpoint _endpoint;
    private readonly TimeSpan _handshakeTimeout;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<IPolledTransport> _opened = new();
    private FrameReader _input = new();
    private byte[] _output = new byte[64 * 1024];
    private int _outputStart;
    private int _outputEnd;
    private Task _connecting = Task.CompletedTask;

    public UpstreamLink(XenbusSettings settings, ILogger logger)
    {
        _endpoint = settings.Upstream switch
        {
            UpstreamKind.SimulatedRing => new Endpoint(EndpointKind.SimulatedRing, settings.UpstreamPath, settings.Domain),
            UpstreamKind.Device => new Endpoint(EndpointKind.Device, settings.UpstreamPath),
            _ => new Endpoint(EndpointKind.SocketOrDevice, settings.UpstreamPath),
        };
        _handshakeTimeout = settings.UpstreamTimeout;
        _logger = logger;
    }

    public string Display => _endpoint.Display;

    /// <summary>The current link's number (0 before the first).</summary>
    public int Link { get; private set; }

    /// <summary>The open connection; null while there is none.</summary>
    public IPolledTransport? Transport { get; private set; }

    /// <summary>The multiplexer asked for the link to be dropped (the daemon stopped answering).</summary>
    public bool ResetRequested { get; private set; }

    /// <summary>Bytes queued and not written yet.</summary>
    public bool HasOutput => _outputEnd > _outputStart;

    /// <summary>
    /// Opens the upstream off the loop, retrying with back-off until it opens or <paramref name="cancellationToken"/>
    /// is cancelled; <paramref name="wake"/> tells the loop to <see cref="TryTakeOpened"/>.
    /// </summary>
    public void StartConnecting(Action wake, CancellationToken cancellationToken) =>
        _connecting = Task.Run(() => ConnectAsync(wake, cancellationToken), CancellationToken.None);

    /// <summary>On the loop: adopts a connection opened meanwhile as the next link.</summary>
    public bool TryTakeOpened()
    {
        if (!_opened.TryDequeue(out IPolledTransport? transport))
        {
            return false;
        }
        Transport = transport;
        Link++;
        ResetRequested = false;
        _input = new FrameReader();
        _outputStart = _outputEnd = 0;
        Log.UpstreamConnected(_logger, Display, Link);
        return true;
    }

    /// <summary>Queues a whole message on link <paramref name="link"/>; dropped when that link is gone.</summary>
    public void Send(int link, byte[] message)
    {
        if (link != Link || Transport is null)
        {
            return;
        }
        if (_outputEnd + message.Length > _output.Length)
        {
            int pending = _outputEnd - _outputStart;
            byte[] target = pending + message.Length > _output.Length
                ? new byte[Math.Max(_output.Length * 2, pending + message.Length)]
                : _output;
            _output.AsSpan(_outputStart, pending).CopyTo(target);
            _output = target;
            _outputStart = 0;
            _outputEnd = pending;
        }
        message.CopyTo(_output, _outputEnd);
        _outputEnd += message.Length;
    }

    /// <summary>Asks for link <paramref name="link"/> to be dropped; the loop does it after the current step.</summary>
    public void Reset(int link)
    {
        if (link == Link && Transport is not null)
        {
            ResetRequested = true;
        }
    }

    /// <summary>Writes what is queued, as far as the connection takes it now. Null, or why the link is lost.</summary>
    public string? Flush()
    {
        try
        {
            while (_outputEnd > _outputStart)
            {
                int written = Transport!.Send(_output.AsSpan(_outputStart, _outputEnd - _outputStart));
                if (written == 0)
                {
                    return null;
                }
                _outputStart += written;
            }
            _outputStart = _outputEnd = 0;
            return null;
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Reads what the connection holds (within the pass's budget) and hands each whole message to
    /// <paramref name="message"/>. Null, or why the link is lost.
    /// </summary>
    public string? Receive(Action<XsHeader, byte[]> message)
    {
        int budget = ReadBudget;
        try
        {
            while (budget > 0)
            {
                Span<byte> free = _input.FreeSpace;
                int read = Transport!.Receive(free);
                if (read == 0)
                {
                    return null;
                }
                _input.Advance(read);
                budget -= read;
                while (true)
                {
                    FrameStatus status = _input.TryTake(out XsHeader header, out byte[] payload);
                    if (status == FrameStatus.TooLarge)
                    {
                        return $"the daemon sent a message of {header.Length} bytes";
                    }
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    message(header, payload);
                }
                if (read < free.Length)
                {
                    return null;
                }
            }
            return null;
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    /// <summary>On the loop: closes the current link.</summary>
    public void Drop(string reason)
    {
        Transport?.Dispose();
        Transport = null;
        ResetRequested = false;
        _outputStart = _outputEnd = 0;
        Log.UpstreamLost(_logger, Link, reason);
    }

    private async Task ConnectAsync(Action wake, CancellationToken cancellationToken)
    {
        TimeSpan retry = s_firstRetry;
        string? lastFailure = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            IPolledTransport transport;
            try
            {
                transport = await Client.Internal.Transport.OpenPolledAsync(_endpoint, _handshakeTimeout, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is XenstoreConnectionException or IOException or UnauthorizedAccessException)
            {
                if (e.Message != lastFailure)
                {
                    Log.UpstreamUnreachable(_logger, Display, e.Message);
                    lastFailure = e.Message;
                }
                try
                {
                    await Task.Delay(retry, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, s_maxRetry.Ticks));
                continue;
            }
            _opened.Enqueue(transport);
            wake();
            return;
        }
    }

    /// <summary>After the loop stopped (and cancelled the connecting): closes whatever is open.</summary>
    public void Dispose()
    {
        try
        {
            _connecting.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // It failed on its way out; nothing left to close but what it opened.
        }
        Transport?.Dispose();
        Transport = null;
        while (_opened.TryDequeue(out IPolledTransport? late))
        {
            late.Dispose();
        }
    }
}
