using System.Collections.Concurrent;
using System.Net.Sockets;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

/// <summary>
/// A Unix-socket relay between the client and a real daemon that can hold the daemon's replies back, cut
/// connections, and records every request the client sent. It lets tests produce late replies and lost
/// connections deterministically while the daemon itself stays real.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly string _daemonSocket;
    private readonly string _directory;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly Task _acceptLoop;
    private TaskCompletionSource _replyGate = NewOpenGate();

    public FaultProxy(string daemonSocket)
    {
        _daemonSocket = daemonSocket;
        _directory = Directory.CreateTempSubdirectory("xs-proxy-").FullName;
        SocketPath = Path.Combine(_directory, "socket");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    /// <summary>Every request header the client sent, with its payload, in order.</summary>
    public ConcurrentQueue<(XsHeader Header, byte[] Payload)> Requests { get; } = new();

    private int _accepted;

    public int Accepted => Volatile.Read(ref _accepted);

    private static TaskCompletionSource NewOpenGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    /// <summary>Daemon-to-client bytes wait until <see cref="ReleaseReplies"/>.</summary>
    public void HoldReplies() => Volatile.Write(ref _replyGate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void ReleaseReplies() => Volatile.Read(ref _replyGate).TrySetResult();

    /// <summary>Closes every relayed connection (the client sees the daemon go away).</summary>
    public void DropConnections()
    {
        while (_sockets.TryTake(out Socket? socket))
        {
            socket.Dispose();
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                Socket client = await _listener.AcceptAsync(_stop.Token);
                Socket daemon = await UnixSocketConnector.ConnectAsync(_daemonSocket);
                _sockets.Add(client);
                _sockets.Add(daemon);
                Interlocked.Increment(ref _accepted);
                _ = Task.Run(() => PumpRequestsAsync(client, daemon));
                _ = Task.Run(() => PumpRepliesAsync(daemon, client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpRequestsAsync(Socket from, Socket to)
    {
        var pending = new List<byte>();
        byte[] buffer = new byte[65536];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    break;
                }
                pending.AddRange(buffer.AsSpan(0, n).ToArray());
                while (FrameParser.TryParse(pending.ToArray(), out XsHeader header, out int length) == FrameStatus.Complete)
                {
                    Requests.Enqueue((header, pending.GetRange(16, length - 16).ToArray()));
                    pending.RemoveRange(0, length);
                }
                await to.SendAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        from.Dispose();
        to.Dispose();
    }

    private async Task PumpRepliesAsync(Socket from, Socket to)
    {
        byte[] buffer = new byte[65536];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    break;
                }
                await Volatile.Read(ref _replyGate).Task.WaitAsync(_stop.Token);
                await to.SendAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        from.Dispose();
        to.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        DropConnections();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }
        Directory.Delete(_directory, recursive: true);
    }
}
