using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;

namespace Xenstore.Server;

/// <summary>
/// A dom0 client on the Unix socket. One reader loop turns bytes into requests for the store thread; output is
/// written by whichever thread flushes, one write per batch. A payload over 4096 bytes closes the connection,
/// as C xenstored does; nothing a client sends can affect another connection.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001",
    Justification = "The semaphores never allocate a wait handle; the store thread may still release them after close.")]
internal sealed class SocketConnection : IClientConnection
{
    private const int ReceiveBufferSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly StoreLoop _loop;
    private readonly ILogger _logger;
    private readonly ServerOptions _options;
    private readonly SemaphoreSlim _requestSlots;
    private readonly SemaphoreSlim _drained = new(0);
    private byte[] _sendBuffer = new byte[4096];
    private int _writing;
    private int _closed;

    public SocketConnection(int id, Socket socket, StoreLoop loop, ServerOptions options, ILogger logger)
    {
        Id = id;
        _socket = socket;
        _loop = loop;
        _options = options;
        _logger = logger;
        _requestSlots = new SemaphoreSlim(options.SocketOutstandingLimit);
        Output = new OutputQueue(options.SocketEventLimit);
    }

    public int Id { get; }

    public uint Domid => 0;

    public bool Privileged => true;

    public OutputQueue Output { get; }

    public void Start()
    {
        _loop.Post(StoreWork.Open(this));
        _ = ReadLoopAsync();
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[ReceiveBufferSize];
        int filled = 0;
        string reason = "closed by peer";
        try
        {
            while (true)
            {
                while (Output.PendingBytes > _options.MaxPendingOutputBytes)
                {
                    // The client is not reading its replies: stop reading its requests until it does.
                    await _drained.WaitAsync(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
                }
                int received = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }
                filled += received;
                int offset = 0;
                while (true)
                {
                    FrameStatus status = FrameParser.TryParse(buffer.AsSpan(offset, filled - offset), out XsHeader header, out int length);
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    if (status == FrameStatus.TooLarge)
                    {
                        reason = "payload over 4096 bytes";
                        return;
                    }
                    byte[] payload = buffer.AsSpan(offset + XsConstants.HeaderSize, length - XsConstants.HeaderSize).ToArray();
                    if (!_requestSlots.Wait(0))
                    {
                        await _requestSlots.WaitAsync().ConfigureAwait(false);
                    }
                    _loop.Post(StoreWork.Request(this, header, payload));
                    offset += length;
                }
                if (offset > 0)
                {
                    Buffer.BlockCopy(buffer, offset, buffer, 0, filled - offset);
                    filled -= offset;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            reason = e.Message;
        }
        finally
        {
            Close(reason);
        }
    }

    public void RequestCompleted() => _requestSlots.Release();

    public void Flush()
    {
        if (Interlocked.CompareExchange(ref _writing, 1, 0) == 0)
        {
            _ = WriteLoopAsync();
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                int length = Output.TakeAll(ref _sendBuffer);
                if (length > 0)
                {
                    await _socket.SendAsync(_sendBuffer.AsMemory(0, length), SocketFlags.None).ConfigureAwait(false);
                    _drained.Release();
                }
                Volatile.Write(ref _writing, 0);
                // Output queued after TakeAll but before the flag was cleared would otherwise wait for the next batch.
                if (Output.PendingBytes == 0 || Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Volatile.Write(ref _writing, 0);
            Close(e.Message);
        }
    }

    public void Abort(string reason) => Close(reason);

    private void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        if (reason != "closed by peer")
        {
            Log.ConnectionDropped(_logger, Id, reason);
        }
        _loop.Post(StoreWork.Close(this));
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone.
        }
        _socket.Dispose();
    }
}
