using System.Net.Sockets;
using Xenstore.Protocol;

namespace Xenstore.Cli.Replay;

/// <summary>
/// One replayed connection: a socket to the daemon under test, its requests' replies taken in the order they were
/// sent (daemons answer in order), and the watch events it received.
/// </summary>
internal sealed class ReplayConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Queue<TaskCompletionSource<Message?>> _pending = new();
    private readonly List<Message> _events = [];
    private readonly Lock _lock = new();
    private readonly Task _reader;
    private bool _closed;

    private ReplayConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = Task.Run(ReadLoopAsync);
    }

    public static async Task<ReplayConnection> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ReplayConnection(socket);
    }

    /// <summary>
    /// Sends a request now (in the caller's order: the write is done when this returns); the task completes with
    /// its reply, or null when the daemon closed the connection first.
    /// </summary>
    public Task<Message?> Send(XsHeader header, byte[] payload)
    {
        var reply = new TaskCompletionSource<Message?>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_closed)
            {
                return Task.FromResult<Message?>(null);
            }
            _pending.Enqueue(reply);
        }
        byte[] frame = new byte[XsConstants.HeaderSize + payload.Length];
        (header with { Length = (uint)payload.Length }).Write(frame);
        payload.CopyTo(frame, XsConstants.HeaderSize);
        try
        {
            _stream.Write(frame);
        }
        catch (IOException)
        {
            Close();
        }
        return reply.Task;
    }

    /// <summary>The events received so far, taken out.</summary>
    public List<Message> TakeEvents()
    {
        lock (_lock)
        {
            List<Message> events = [.. _events];
            _events.Clear();
            return events;
        }
    }

    public bool Closed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        byte[] header = new byte[XsConstants.HeaderSize];
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(header).ConfigureAwait(false);
                XsHeader h = XsHeader.Read(header);
                if (h.Length > XsConstants.PayloadMax * 16)
                {
                    break;
                }
                byte[] payload = new byte[h.Length];
                await _stream.ReadExactlyAsync(payload).ConfigureAwait(false);
                var message = new Message(h, payload);
                TaskCompletionSource<Message?>? waiter = null;
                lock (_lock)
                {
                    if (h.Type == XsMessageType.WatchEvent)
                    {
                        _events.Add(message);
                    }
                    else
                    {
                        _pending.TryDequeue(out waiter);
                    }
                }
                waiter?.TrySetResult(message);
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException or SocketException)
        {
            // The daemon closed the connection, or we did.
        }
        Close();
    }

    private void Close()
    {
        List<TaskCompletionSource<Message?>> waiting;
        lock (_lock)
        {
            _closed = true;
            waiting = [.. _pending];
            _pending.Clear();
        }
        foreach (TaskCompletionSource<Message?> w in waiting)
        {
            w.TrySetResult(null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone.
        }
        _socket.Dispose();
        await _reader.ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A message the daemon under test sent.</summary>
internal sealed record Message(XsHeader Header, byte[] Payload);
