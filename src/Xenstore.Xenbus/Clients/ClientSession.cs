using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Xenbus.Mux;

namespace Xenstore.Xenbus.Clients;

/// <summary>
/// One local client's socket: a reader that splits the stream into requests and hands them to the multiplexer,
/// and a writer that drains the replies and events queued for it. Both sides are bounded: the reader stops reading
/// while <see cref="MaxPendingRequests"/> of its requests are unanswered (as the daemon stops reading a client), and
/// a client whose queued output passes the limit is cut off rather than allowed to hold memory or anybody else up.
/// </summary>
internal sealed class ClientSession : IDisposable
{
    /// <summary>Requests of one client inside xenbusd at once.</summary>
    public const int MaxPendingRequests = 256;

    private const int SendBatch = 64 * 1024;

    private readonly Socket _socket;
    private readonly Action<MuxEvent> _post;
    private readonly ILogger _logger;
    private readonly int _outputLimit;
    private readonly Channel<byte[]> _output = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _credits = new(MaxPendingRequests, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private long _queuedBytes;
    private int _closed;

    public ClientSession(int id, Socket socket, Action<MuxEvent> post, int outputLimit, ILogger logger)
    {
        Id = id;
        _socket = socket;
        _post = post;
        _outputLimit = outputLimit;
        _logger = logger;
    }

    public int Id { get; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public async Task RunAsync()
    {
        Task writer = WriteLoopAsync();
        string reason = await ReadLoopAsync().ConfigureAwait(false);
        Close(reason);
        await writer.ConfigureAwait(false);
        Dispose();
    }

    public void Dispose()
    {
        _socket.Dispose();
        _stop.Dispose();
        _credits.Dispose();
    }

    /// <summary>Queues a reply or an event. Called by the multiplexer only; false when the client is (now) cut off.</summary>
    public bool Send(byte[] message)
    {
        if (IsClosed)
        {
            return false;
        }
        if (Interlocked.Add(ref _queuedBytes, message.Length) > _outputLimit)
        {
            Close($"more than {_outputLimit} bytes of output queued (the client does not read)");
            return false;
        }
        _output.Writer.TryWrite(message);
        return true;
    }

    /// <summary>One of its requests has been answered (or dropped): it may send another.</summary>
    public void RequestDone()
    {
        try
        {
            _credits.Release();
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: the multiplexer hears of it next.
        }
    }

    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        Log.ClientClosed(_logger, Id, reason);
        _output.Writer.TryComplete();
        _stop.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
        _post(new MuxEvent.ClientClosed(this));
    }

    private async Task<string> ReadLoopAsync()
    {
        var buffer = new byte[4 * (XsConstants.HeaderSize + XsConstants.PayloadMax)];
        int filled = 0;
        CancellationToken token = _stop.Token;
        try
        {
            while (true)
            {
                int read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, token).ConfigureAwait(false);
                if (read == 0)
                {
                    return "end of stream";
                }
                filled += read;
                int start = 0;
                while (true)
                {
                    FrameStatus status = FrameParser.TryParse(buffer.AsSpan(start, filled - start), out XsHeader header, out int length);
                    if (status == FrameStatus.TooLarge)
                    {
                        // As the daemon does on a socket: the stream cannot be resynchronised.
                        return $"a request announces a payload of {header.Length} bytes (at most {XsConstants.PayloadMax})";
                    }
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    await _credits.WaitAsync(token).ConfigureAwait(false);
                    byte[] payload = buffer.AsSpan(start + XsConstants.HeaderSize, (int)header.Length).ToArray();
                    _post(new MuxEvent.ClientRequest(this, header, payload));
                    start += length;
                }
                Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                filled -= start;
            }
        }
        catch (OperationCanceledException)
        {
            return "closed";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return e.Message;
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new byte[SendBatch];
        ChannelReader<byte[]> reader = _output.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                int used = 0;
                while (used < SendBatch && reader.TryPeek(out byte[]? next) && (used == 0 || used + next.Length <= SendBatch))
                {
                    reader.TryRead(out _);
                    if (next.Length > SendBatch)
                    {
                        await SendAllAsync(next).ConfigureAwait(false);
                        Interlocked.Add(ref _queuedBytes, -next.Length);
                        continue;
                    }
                    next.CopyTo(batch, used);
                    used += next.Length;
                }
                await SendAllAsync(batch.AsMemory(0, used)).ConfigureAwait(false);
                Interlocked.Add(ref _queuedBytes, -used);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Close("write failed: " + e.Message);
        }
    }

    private async Task SendAllAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await _socket.SendAsync(data, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            data = data[sent..];
        }
    }
}
