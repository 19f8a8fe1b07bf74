using System.Runtime.InteropServices;

namespace Xenstore.Client.Internal;

/// <summary>
/// The daemon's Unix socket as a bare descriptor, connected and used through libc alone: .NET's <c>Socket</c> starts
/// the runtime's socket engine (an epoll thread) the first time one is created, even one only ever used blocking.
/// The descriptor stays blocking for connect; sends and receives never wait (MSG_DONTWAIT): whoever drives it
/// polls <see cref="Descriptor"/>.
/// </summary>
internal sealed unsafe class RawUnixSocket : IPolledTransport
{
    private int _descriptor;

    private RawUnixSocket(int descriptor) => _descriptor = descriptor;

    public int Descriptor => _descriptor;

    public bool PollsForOutput => true;

    public int LookAgainMs => -1;

    /// <summary>
    /// Connects to <paramref name="path"/>; null when the listen backlog was full (EAGAIN) and the caller may try
    /// again.
    /// </summary>
    /// <exception cref="IOException">Any other failure, with errno's text.</exception>
    public static RawUnixSocket? TryConnect(string path)
    {
        byte[] address = Libc.UnixAddress(path)
            ?? throw new IOException(Errno.Text(Errno.ENAMETOOLONG), Errno.ENAMETOOLONG);
        int descriptor = Libc.Socket(Libc.AfUnix, Libc.SockStream | Libc.SockCloseOnExec, 0);
        if (descriptor < 0)
        {
            throw LastError();
        }
        int result;
        fixed (byte* pointer = address)
        {
            do
            {
                result = Libc.Connect(descriptor, pointer, address.Length);
            }
            while (result < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        }
        if (result == 0)
        {
            return new RawUnixSocket(descriptor);
        }
        int errno = Marshal.GetLastPInvokeError();
        Libc.Close(descriptor);
        return errno == Errno.EAGAIN ? null : throw new IOException(Errno.Text(errno), errno);
    }

    public void OnReady()
    {
    }

    public int Receive(Span<byte> buffer)
    {
        fixed (byte* pointer = buffer)
        {
            nint read = Libc.Receive(_descriptor, pointer, buffer.Length, Libc.MsgDontWait);
            if (read > 0)
            {
                return (int)read;
            }
            if (read == 0)
            {
                throw new IOException("the daemon closed the connection");
            }
            int errno = Marshal.GetLastPInvokeError();
            return errno is Errno.EAGAIN or Errno.EINTR ? 0 : throw new IOException(Errno.Text(errno), errno);
        }
    }

    public int Send(ReadOnlySpan<byte> data)
    {
        fixed (byte* pointer = data)
        {
            nint sent = Libc.Send(_descriptor, pointer, data.Length, Libc.MsgDontWait | Libc.MsgNoSignal);
            if (sent >= 0)
            {
                return (int)sent;
            }
            int errno = Marshal.GetLastPInvokeError();
            return errno is Errno.EAGAIN or Errno.EINTR ? 0 : throw new IOException(Errno.Text(errno), errno);
        }
    }

    public void Dispose()
    {
        int descriptor = _descriptor;
        _descriptor = -1;
        if (descriptor >= 0)
        {
            Libc.Close(descriptor);
        }
    }

    private static IOException LastError()
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException(Errno.Text(errno), errno);
    }
}
