using System.Net.Sockets;

namespace Xenstore.Client.Internal;

/// <summary>The daemon's Unix socket, non-blocking, for a poll loop.</summary>
internal sealed class PolledSocket : IPolledTransport
{
    private readonly Socket _socket;

    public PolledSocket(Socket socket)
    {
        _socket = socket;
        _socket.Blocking = false;
        Descriptor = (int)_socket.Handle;
    }

    public int Descriptor { get; }

    public bool PollsForOutput => true;

    public int LookAgainMs => -1;

    public void OnReady()
    {
    }

    public int Receive(Span<byte> buffer)
    {
        int read = _socket.Receive(buffer, SocketFlags.None, out SocketError error);
        if (error == SocketError.WouldBlock)
        {
            return 0;
        }
        if (error != SocketError.Success)
        {
            throw new IOException(new SocketException((int)error).Message);
        }
        if (read == 0 && !buffer.IsEmpty)
        {
            throw new IOException("the daemon closed the connection");
        }
        return read;
    }

    public int Send(ReadOnlySpan<byte> data)
    {
        int sent = _socket.Send(data, SocketFlags.None, out SocketError error);
        if (error == SocketError.WouldBlock)
        {
            return 0;
        }
        if (error != SocketError.Success)
        {
            throw new IOException(new SocketException((int)error).Message);
        }
        return sent;
    }

    public void Dispose() => _socket.Dispose();
}
