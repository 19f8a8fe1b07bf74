using System.Net.Sockets;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Robustness.Tests;

/// <summary>
/// A client that sends and never reads: its replies and events pile up on the daemon's side. Its receive buffer is
/// kept small so the kernel cannot absorb much of what the daemon sends.
/// </summary>
public sealed class SilentClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private long _bytesSent;

    private SilentClient(Socket socket) => _socket = socket;

    /// <summary>Bytes the kernel accepted from this client so far.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public static async Task<SilentClient> ConnectAsync(string socketPath)
    {
        Socket socket = await UnixSocketConnector.ConnectAsync(socketPath);
        socket.ReceiveBufferSize = 4096;
        return new SilentClient(socket);
    }

    /// <summary>One message as bytes.</summary>
    public static byte[] Frame(XsMessageType type, ReadOnlySpan<byte> payload, uint reqId = 1)
    {
        var frame = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(frame, type, reqId, 0, payload);
        return frame;
    }

    /// <summary>Sends bytes once (used to register a watch before going silent).</summary>
    public async Task SendAsync(byte[] bytes)
    {
        int offset = 0;
        while (offset < bytes.Length)
        {
            offset += await _socket.SendAsync(bytes.AsMemory(offset), SocketFlags.None);
        }
        Interlocked.Add(ref _bytesSent, bytes.Length);
    }

    /// <summary>
    /// Sends <paramref name="frame"/> over and over until cancelled or the daemon closes the socket. Once the daemon
    /// stops reading (its limits), the send blocks, which is the point.
    /// </summary>
    public async Task FloodAsync(byte[] frame, CancellationToken cancel)
    {
        byte[] block = new byte[frame.Length * 64];
        for (int i = 0; i < 64; i++)
        {
            frame.CopyTo(block, i * frame.Length);
        }
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                int sent = await _socket.SendAsync(block, SocketFlags.None, cancel);
                Interlocked.Add(ref _bytesSent, sent);
                if (sent < block.Length)
                {
                    // Keep frames aligned so the daemon never sees a torn request from us.
                    int offset = sent;
                    while (offset < block.Length)
                    {
                        int more = await _socket.SendAsync(block.AsMemory(offset), SocketFlags.None, cancel);
                        offset += more;
                        Interlocked.Add(ref _bytesSent, more);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>The raw socket, for reading what piled up once a test is done being silent.</summary>
    public Socket Socket => _socket;

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
