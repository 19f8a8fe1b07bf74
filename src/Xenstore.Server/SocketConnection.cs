using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;

namespace Xenstore.Server;

/// <summary>
/// A dom0 client on the Unix socket. One reader loop turns bytes into requests and runs them as a batch (on its
/// own thread when the store is free, else on the store thread); output is written by whichever thread flushes,
/// one write per batch. A payload over 4096 bytes closes the connection,
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
    private readonly byte[] _input = new byte[ReceiveBufferSize];
    private CancellationTokenSource _stopReading = new();
    private int _inputLength;
    private Task? _reader;
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
        _reader = ReadLoopAsync();
    }

    /// <summary>
    /// Starts a connection carried over from a previous daemon: bytes it had received but not yet parsed are
    /// parsed first, and output it had not yet written is written first.
    /// </summary>
    public void StartAdopted(ReadOnlySpan<byte> unparsedInput, ReadOnlySpan<byte> unsentOutput)
    {
        unparsedInput.CopyTo(_input);
        _inputLength = unparsedInput.Length;
        Output.AppendRaw(unsentOutput);
        Start();
    }

    /// <summary>Called once when the connection closes.</summary>
    public Action<SocketConnection>? Closed { get; set; }

    /// <summary>The socket, for handing it to a new daemon.</summary>
    public Socket Socket => _socket;

    private async Task ReadLoopAsync()
    {
        string reason = "closed by peer";
        CancellationToken stop = _stopReading.Token;
        try
        {
            while (true)
            {
                int offset = 0;
                bool queued = false;
                while (true)
                {
                    FrameStatus status = FrameParser.TryParse(_input.AsSpan(offset, _inputLength - offset), out XsHeader header, out int length);
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }
                    if (status == FrameStatus.TooLarge)
                    {
                        reason = "payload over 4096 bytes";
                        return;
                    }
                    // Checked per request, not per received chunk: one chunk of small requests can ask for far
                    // more output than the limit, and a client that does not read must cost a bounded amount.
                    while (Output.PendingBytes > _options.MaxPendingOutputBytes)
                    {
                        queued = RunQueued(queued);
                        await _drained.WaitAsync(TimeSpan.FromMilliseconds(100), stop).ConfigureAwait(false);
                    }
                    byte[] payload = _input.AsSpan(offset + XsConstants.HeaderSize, length - XsConstants.HeaderSize).ToArray();
                    if (!_requestSlots.Wait(0))
                    {
                        queued = RunQueued(queued);
                        await _requestSlots.WaitAsync(stop).ConfigureAwait(false);
                    }
                    _loop.Enqueue(StoreWork.Request(this, header, payload));
                    queued = true;
                    offset += length;
                }
                // Every complete request of this chunk runs as one batch, here if the store is free.
                RunQueued(queued);
                if (offset > 0)
                {
                    Buffer.BlockCopy(_input, offset, _input, 0, _inputLength - offset);
                    _inputLength -= offset;
                }
                while (Output.PendingBytes > _options.MaxPendingOutputBytes)
                {
                    // The client is not reading its replies: stop reading its requests until it does.
                    await _drained.WaitAsync(TimeSpan.FromMilliseconds(100), stop).ConfigureAwait(false);
                }
                int received = await _socket.ReceiveAsync(_input.AsMemory(_inputLength), SocketFlags.None, stop).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }
                _inputLength += received;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Handed over to a new daemon: the socket stays open, unparsed bytes stay in _input.
            reason = "";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            reason = e.Message;
        }
        finally
        {
            if (reason.Length > 0)
            {
                Close(reason);
            }
        }
    }

    /// <summary>Runs what this reader queued (before it waits, or at the end of a chunk); returns false.</summary>
    private bool RunQueued(bool queued)
    {
        if (queued)
        {
            _loop.RunHereOrSignal();
        }
        return false;
    }

    /// <summary>
    /// Live update: stops reading without closing (a cancelled receive leaves unread bytes in the kernel) and
    /// returns the bytes received but not yet parsed.
    /// </summary>
    public async Task<byte[]> StopReadingAsync()
    {
        await _stopReading.CancelAsync().ConfigureAwait(false);
        if (_reader is not null)
        {
            await _reader.ConfigureAwait(false);
        }
        return _input.AsSpan(0, _inputLength).ToArray();
    }

    /// <summary>A live update did not happen: read again.</summary>
    public void ResumeReading()
    {
        _stopReading = new CancellationTokenSource();
        _reader = ReadLoopAsync();
    }

    /// <summary>A write to the socket is under way (its bytes cannot be carried over).</summary>
    public bool IsWriting => Volatile.Read(ref _writing) != 0;

    /// <summary>True when nothing is queued or being written.</summary>
    public bool OutputIdle => Volatile.Read(ref _writing) == 0 && Output.PendingBytes == 0;

    /// <summary>False after the connection was closed (by the peer or by the daemon).</summary>
    public bool IsOpen => Volatile.Read(ref _closed) == 0;

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
        Closed?.Invoke(this);
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
