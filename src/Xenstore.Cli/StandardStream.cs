using System.Runtime.InteropServices;

namespace Xenstore.Cli;

/// <summary>
/// Standard output or error written as the C tools write them: write() on the descriptor and nothing else. .NET's
/// console streams first set the terminal up (a signal-handling thread, the terminal's modes and capabilities), a
/// cost every short invocation paid for output that is bytes anyway. Errors are handled as the console stream
/// handles them: a reader that went away (EPIPE) drops the output silently, a non-blocking descriptor is waited
/// for, anything else is an <see cref="IOException"/>.
/// </summary>
internal sealed unsafe class StandardStream(int descriptor) : Stream
{
    public const int Output = 1;
    public const int Error = 2;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint written = Libc.Write(descriptor, start + done, buffer.Length - done);
                if (written >= 0)
                {
                    done += (int)written;
                    continue;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }
                if (errno == Errno.EPIPE)
                {
                    return;
                }
                if (errno != Errno.EAGAIN)
                {
                    throw new IOException(Libc.LastErrorText(), errno);
                }
                var poll = new Libc.PollFd { Fd = descriptor, Events = Libc.PollOut };
                Libc.Poll(&poll, 1, -1);
            }
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
