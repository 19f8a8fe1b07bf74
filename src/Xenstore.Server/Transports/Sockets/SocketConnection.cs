using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Reactor;
using Xenstore.Store;

namespace Xenstore.Server.Transports.Sockets;

/// <summary>
/// A dom0 client on the Unix socket, owned by the store thread: its non-blocking socket is watched by the store
/// thread's epoll, read there, and every complete request is executed as soon as it is parsed; replies are written
/// once per batch, after the journal. A payload over 4096 bytes closes the connection, as C xenstored does; a
/// client that does not read its replies is not read either (beyond a bounded backlog); nothing a client sends
/// can affect another connection. Its sends and receives go through the loop's <see cref="SocketIoBatch"/>, with
/// every other ready socket's. A batch executes at most <see cref="RequestsPerTurn"/> of its requests.
/// </summary>
internal sealed class SocketConnection : IClientConnection, IPollable, ISocketIoTarget, IHeldInput
{
    /// <summary>
    /// Most requests of one connection executed in one batch; the rest are held over to the next batch, which
    /// follows at once. One client's pipelined chunk (up to the 64 KiB input buffer: thousands of small requests)
    /// then holds every other connection's requests and replies back by one turn, not by the whole chunk. C
    /// xenstored goes further, one request per connection per pass of its loop, at a system call or more each.
    /// 64 is what our client keeps in flight by default, so its chunks are not split: a smaller turn lets a
    /// pipelining client send more while the rest of its chunk executes (32 with 64 in flight: about 10% more
    /// requests per second here), but every turn costs a send, a receive and a wait more, about 40% more daemon
    /// CPU per request on this kind of machine (docs/PERFORMANCE.md).
    /// </summary>
    public const int RequestsPerTurn = 64;

    /// <summary>
    /// The input buffer starts small (one whole frame fits) and grows to <see cref="MaxReceiveBufferSize"/> for a
    /// client that pipelines: thousands of idle connections must not hold 64 KiB each.
    /// </summary>
    private const int InitialReceiveBufferSize = 8 * 1024;
    private const int MaxReceiveBufferSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly int _descriptor;
    private readonly DescriptorWatcher _watcher;
    private readonly WorkQueue _queue;
    private readonly BatchPipeline _pipeline;
    private readonly OpenSockets _open;
    private readonly ILogger _logger;
    private readonly ServerOptions _options;
    private byte[] _input = PinnedBuffer.Allocate(InitialReceiveBufferSize);
    private int _inputLength;
    private byte[] _sendBuffer = PinnedBuffer.Allocate(4096);
    private int _sendOffset;
    private int _sendLength;
    private uint _watched;
    private bool _attached;
    private bool _reading;
    private bool _backloggedBeforeSend;
    private bool _heldOver;

    // When the requests held over at the end of a turn arrived: their latency counts from the batch that received
    // them, not from the one that continues them. Null when no turn ended with requests left.
    private long? _heldArrival;
    private volatile bool _closed;

    public SocketConnection(int id, Socket socket, SocketTransport transport)
    {
        Id = id;
        _socket = socket;
        _socket.Blocking = false;
        _descriptor = (int)socket.SafeHandle.DangerousGetHandle();
        _watcher = transport.Watcher;
        _queue = transport.Queue;
        _pipeline = transport.Pipeline;
        _open = transport.Open;
        _options = transport.Options;
        _logger = transport.Logger;
        Output = new OutputQueue(_options.SocketEventLimit, storeThreadOnly: true);
        _open.Add(this);
    }

    public int Id { get; }

    public uint Domid => 0;

    public bool Privileged => true;

    public ConnectionKind Kind => ConnectionKind.Transient;

    public OutputQueue Output { get; }

    /// <summary>The socket, for handing it to a new daemon.</summary>
    public Socket Socket => _socket;

    /// <summary>False after the connection was closed (by the peer or by the daemon).</summary>
    public bool IsOpen => !_closed;

    /// <summary>Part of a reply is written and the rest waits for the client (its bytes cannot be carried over).</summary>
    public bool IsWriting => Volatile.Read(ref _sendLength) > Volatile.Read(ref _sendOffset);

    /// <summary>True when nothing is queued or being written.</summary>
    public bool OutputIdle => !IsWriting && Output.QueuedBytes == 0;

    /// <summary>Store thread: the engine learns of the connection and its socket is watched.</summary>
    public void Attach()
    {
        _pipeline.Open(this);
        _attached = true;
        _reading = true;
        UpdateWatch();
        // Input carried over by a live update is parsed before anything new is read.
        ProcessInput();
        if (Output.PublishedBytes > 0)
        {
            _pipeline.FlushAfterBatch(this);
        }
    }

    /// <summary>
    /// A connection carried over from a previous daemon: bytes it had received but not yet parsed are parsed
    /// first, and output it had not yet written is written first. Attached on the store thread.
    /// </summary>
    public void StartAdopted(ReadOnlySpan<byte> unparsedInput, ReadOnlySpan<byte> unsentOutput)
    {
        if (unparsedInput.Length > _input.Length)
        {
            _input = PinnedBuffer.Allocate(MaxReceiveBufferSize);
        }
        unparsedInput.CopyTo(_input);
        _inputLength = unparsedInput.Length;
        Output.AppendRaw(unsentOutput);
        _queue.Post(StoreWork.Run(_ => Attach()));
    }

    /// <summary>Live update, store thread: stops reading and returns the bytes received but not yet parsed.</summary>
    public byte[] StopReading()
    {
        _reading = false;
        UpdateWatch();
        return _input.AsSpan(0, _inputLength).ToArray();
    }

    /// <summary>
    /// A live update did not happen, store thread: the output it had taken to carry over is written after all, and
    /// the client is read again.
    /// </summary>
    public void ResumeReading(ReadOnlySpan<byte> takenOutput)
    {
        if (!takenOutput.IsEmpty)
        {
            Output.AppendRaw(takenOutput);
            _pipeline.FlushAfterBatch(this);
        }
        _reading = true;
        UpdateWatch();
        ProcessInput();
    }

    public void OnReady(uint events)
    {
        if ((events & Epoll.Out) != 0)
        {
            // Written after the journal, with the rest of the batch.
            _pipeline.FlushAfterBatch(this);
        }
        if (_closed)
        {
            return;
        }
        if ((events & Epoll.In) != 0 || ((events & (Epoll.HangUp | Epoll.Error)) != 0 && _reading && !OutputBacklogged))
        {
            Receive();
        }
        else if ((events & (Epoll.HangUp | Epoll.Error)) != 0)
        {
            // Reported even when not asked for. A backlogged client that hung up will never read its output; one
            // stopped for a live update is left to the next daemon (which will see the hang-up itself).
            if (_reading)
            {
                Close("closed by peer");
            }
            else
            {
                _watcher.Unwatch(_descriptor, Id);
                _watched = 0;
            }
        }
    }

    private void Receive()
    {
        if (_inputLength == _input.Length)
        {
            // Full of complete requests held back by a backlog (a frame is far smaller than the buffer).
            ProcessInput();
            return;
        }
        _pipeline.Io.Receive(this, _descriptor, _input, _inputLength, _input.Length - _inputLength);
    }

    public void ContinueInput()
    {
        _heldOver = false;
        if (!_closed && _reading)
        {
            ProcessInput();
        }
    }

    public void ReceiveCompleted(int result)
    {
        if (result == -Errno.EAGAIN)
        {
            return;
        }
        if (result < 0)
        {
            Close(Marshal.GetPInvokeErrorMessage(-result));
            return;
        }
        if (result == 0)
        {
            Close("closed by peer");
            return;
        }
        _inputLength += result;
        if (_inputLength == _input.Length && _input.Length < MaxReceiveBufferSize)
        {
            // A full read: this client pipelines, give it room for larger batches.
            PinnedBuffer.Resize(ref _input, MaxReceiveBufferSize);
        }
        ProcessInput();
    }

    /// <summary>Executes every complete request in the input, unless the client's unread output is too large.</summary>
    private void ProcessInput()
    {
        int offset = 0;
        int executed = 0;
        long arrival = _heldArrival ?? _pipeline.Clock.Arrival();
        _heldArrival = null;
        while (_reading && !_closed && !OutputBacklogged)
        {
            FrameStatus status = FrameParser.TryParse(_input.AsSpan(offset, _inputLength - offset), out XsHeader header, out int length);
            if (status == FrameStatus.NeedMoreData)
            {
                break;
            }
            if (executed == RequestsPerTurn)
            {
                _heldArrival = arrival;
                if (!_heldOver)
                {
                    _heldOver = true;
                    _pipeline.HoldOver(this);
                }
                break;
            }
            if (status == FrameStatus.TooLarge)
            {
                Close("payload over 4096 bytes");
                return;
            }
            ReadOnlySpan<byte> payload = _input.AsSpan(offset + XsConstants.HeaderSize, length - XsConstants.HeaderSize);
            offset += length;
            if (!_pipeline.Execute(this, header, payload, arrival))
            {
                return;
            }
            executed++;
        }
        if (offset > 0)
        {
            Buffer.BlockCopy(_input, offset, _input, 0, _inputLength - offset);
            _inputLength -= offset;
        }
        // Not reading while backlogged: checked per request, since one chunk of small requests can ask for far
        // more output than the limit, and a client that does not read must cost a bounded amount.
        UpdateWatch();
    }

    private bool OutputBacklogged => Output.QueuedBytes + (_sendLength - _sendOffset) > _options.MaxPendingOutputBytes;

    /// <summary>Watches for input while reading and not backlogged, for output while a write is unfinished.</summary>
    private void UpdateWatch()
    {
        if (!_attached || _closed)
        {
            return;
        }
        uint wanted = (_reading && !OutputBacklogged ? Epoll.In : 0) | (IsWriting ? Epoll.Out : 0);
        if (wanted == _watched)
        {
            return;
        }
        if (_watched == 0)
        {
            _watcher.Watch(_descriptor, wanted, Id, this);
        }
        else if (wanted == 0)
        {
            _watcher.Unwatch(_descriptor, Id);
        }
        else
        {
            _watcher.Rewatch(_descriptor, wanted, Id);
        }
        _watched = wanted;
    }

    /// <summary>Sockets have no outstanding-request quota: a request leaves no slot to free.</summary>
    public void RequestCompleted()
    {
    }

    /// <summary>
    /// Store thread, after the journal: queues a send of what is waiting (the loop's batch carries it out with the
    /// other connections' sends and reports to <see cref="SendCompleted"/>).
    /// </summary>
    public void Flush()
    {
        if (_closed)
        {
            return;
        }
        _backloggedBeforeSend = OutputBacklogged;
        if (_sendOffset == _sendLength)
        {
            int taken = Output.TakeAll(ref _sendBuffer);
            Volatile.Write(ref _sendOffset, 0);
            Volatile.Write(ref _sendLength, taken);
        }
        if (_sendOffset == _sendLength)
        {
            AfterSend();
            return;
        }
        _pipeline.Io.Send(this, _descriptor, _sendBuffer, _sendOffset, _sendLength - _sendOffset);
    }

    public void SendCompleted(int result)
    {
        if (result < 0 && result != -Errno.EAGAIN)
        {
            Close(Marshal.GetPInvokeErrorMessage(-result));
            return;
        }
        if (result > 0)
        {
            Volatile.Write(ref _sendOffset, _sendOffset + result);
        }
        if (!IsWriting && Output.PublishedBytes > 0)
        {
            // Output queued after this send was taken: another round of the same flush writes it.
            _pipeline.FlushAfterBatch(this);
        }
        AfterSend();
    }

    private void AfterSend()
    {
        if (_backloggedBeforeSend && !OutputBacklogged && _reading)
        {
            // The client caught up: requests read but held back run in the next batch (this one is journalled).
            _queue.Post(StoreWork.Run(_ =>
            {
                if (!_closed && _reading)
                {
                    ProcessInput();
                }
            }));
        }
        // A partial send (the socket's buffer is full) waits for EPOLLOUT.
        UpdateWatch();
    }

    /// <summary>Store thread: the store dropped this connection.</summary>
    public void Abort(string reason) => Close(reason);

    private void Close(string reason)
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        if (reason != "closed by peer")
        {
            Log.ConnectionDropped(_logger, Id, reason);
        }
        if (_watched != 0)
        {
            _watcher.Unwatch(_descriptor, Id);
            _watched = 0;
        }
        _open.Remove(this);
        if (_attached)
        {
            _pipeline.Close(this);
        }
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
