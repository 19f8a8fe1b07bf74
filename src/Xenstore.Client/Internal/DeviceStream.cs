using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// A xenbus-style character device (<c>/dev/xen/xenbus</c>): Linux's xenbus_dev_frontend acts on a message only once
/// a write() completed it, and discards whatever follows it in the same write, so every message goes out in a write()
/// of its own. Reads return reply and event bytes as the kernel queues them; they wait in poll() with a short
/// timeout, so a read never outlives the stream's cancellation or disposal.
/// </summary>
internal sealed unsafe class DeviceStream : DuplexStream, IPolledTransport
{
    private const int PollMilliseconds = 100;

    private readonly SafeFileHandle _handle;

    private DeviceStream(SafeFileHandle handle) => _handle = handle;

    public static DeviceStream Open(string path)
    {
        int fd = Libc.Open(path, Libc.ORdWr | Libc.OCloExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string text = Libc.LastErrorText();
            throw errno switch
            {
                2 => new FileNotFoundException(text, path),
                13 => new UnauthorizedAccessException(text),
                _ => new IOException(text, errno),
            };
        }
        return new DeviceStream(new SafeFileHandle(fd, ownsHandle: true));
    }

    /// <summary>The lengths of the whole messages at the start of <paramref name="data"/>, then of any remainder.</summary>
    public static IEnumerable<Range> Messages(ReadOnlyMemory<byte> data)
    {
        int start = 0;
        while (start < data.Length)
        {
            int length = data.Length - start;
            if (length >= XsConstants.HeaderSize)
            {
                uint payload = BinaryPrimitives.ReadUInt32LittleEndian(data.Span.Slice(start + 12, 4));
                length = (int)Math.Min((uint)length, XsConstants.HeaderSize + payload);
            }
            yield return new Range(start, start + length);
            start += length;
        }
    }

    int IPolledTransport.Descriptor => (int)_handle.DangerousGetHandle();

    bool IPolledTransport.PollsForOutput => false;

    int IPolledTransport.LookAgainMs => -1;

    void IPolledTransport.OnReady()
    {
    }

    /// <summary>Reads what the device holds, if anything; never waits (the descriptor is a blocking one).</summary>
    int IPolledTransport.Receive(Span<byte> buffer)
    {
        int fd = (int)_handle.DangerousGetHandle();
        var poll = new Libc.PollFd { Fd = fd, Events = Libc.PollIn };
        int ready = Libc.Poll(&poll, 1, 0);
        if (ready <= 0)
        {
            return 0;
        }
        fixed (byte* pointer = buffer)
        {
            nint read = Libc.Read(fd, pointer, buffer.Length);
            if (read > 0)
            {
                return (int)read;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (read < 0 && (errno == Errno.EINTR || errno == Errno.EAGAIN))
            {
                return 0;
            }
            throw new IOException(read == 0 ? "the device was closed" : Libc.LastErrorText());
        }
    }

    /// <summary>Every message in a write of its own; the driver takes each whole.</summary>
    int IPolledTransport.Send(ReadOnlySpan<byte> data)
    {
        ReadOnlyMemory<byte> all = data.ToArray();
        foreach (Range message in Messages(all))
        {
            WriteWhole(all[message]);
        }
        return data.Length;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(Task.Run(() => ReadBlocking(buffer, cancellationToken), cancellationToken));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        foreach (Range message in Messages(buffer))
        {
            cancellationToken.ThrowIfCancellationRequested();
            WriteWhole(buffer[message]);
        }
        return ValueTask.CompletedTask;
    }

    private int ReadBlocking(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            int fd = (int)_handle.DangerousGetHandle();
            using MemoryHandle pin = buffer.Pin();
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var poll = new Libc.PollFd { Fd = fd, Events = Libc.PollIn };
                int ready = Libc.Poll(&poll, 1, PollMilliseconds);
                if (ready < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR)
                {
                    throw new IOException("poll: " + Libc.LastErrorText());
                }
                if (ready <= 0)
                {
                    continue;
                }
                nint read = Libc.Read(fd, (byte*)pin.Pointer, buffer.Length);
                if (read >= 0)
                {
                    return (int)read;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR && errno != Errno.EAGAIN)
                {
                    throw new IOException(Libc.LastErrorText(), errno);
                }
            }
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private void WriteWhole(ReadOnlyMemory<byte> message)
    {
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            int fd = (int)_handle.DangerousGetHandle();
            using MemoryHandle pin = message.Pin();
            int done = 0;
            while (done < message.Length)
            {
                nint written = Libc.Write(fd, (byte*)pin.Pointer + done, message.Length - done);
                if (written < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }
                    throw new IOException(Libc.LastErrorText(), errno);
                }
                done += (int)written;
            }
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadBlocking(buffer.AsMemory(offset, count), CancellationToken.None);

    public override void Write(byte[] buffer, int offset, int count)
    {
        ReadOnlyMemory<byte> data = buffer.AsMemory(offset, count);
        foreach (Range message in Messages(data))
        {
            WriteWhole(data[message]);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _handle.Dispose();
        }
        base.Dispose(disposing);
    }
}
