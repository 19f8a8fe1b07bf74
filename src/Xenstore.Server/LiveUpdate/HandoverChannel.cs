using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// One end of the connected Unix socket pair between a daemon and the successor it starts for a live update. The
/// successor says when it stands by, when it has loaded the state it was told to load, and when it serves (one
/// byte each); the daemon tells it to load the state, then sends the hand-over: every socket
/// descriptor (SCM_RIGHTS, at most <see cref="Libc.ScmMaxDescriptors"/> a message) and the handover record. Either
/// side learns that the other is gone from the end of the stream, without polling a process or a file.
/// Blocking calls: each side runs them off its store thread.
/// </summary>
/// <remarks>
/// The sockets are passed at hand-over time rather than inherited when the successor starts: the successor starts
/// while this daemon still serves, so connections accepted in between would not be inherited, and a copy of every
/// client's socket held by a waiting successor would keep a connection this daemon closes open for its client.
/// </remarks>
internal sealed class HandoverChannel : IDisposable
{
    /// <summary>Successor to daemon: started, waiting for the hand-over.</summary>
    public const byte StandingBy = (byte)'S';

    /// <summary>Daemon to successor: the state directory is a snapshot and a growing journal; load it now.</summary>
    public const byte Load = (byte)'L';

    /// <summary>Successor to daemon: the state is loaded as far as the journal went; hand over when ready.</summary>
    public const byte Loaded = (byte)'P';

    /// <summary>Successor to daemon: every socket is adopted and served; the daemon may leave.</summary>
    public const byte Serving = (byte)'R';

    private const byte HandoverHeader = (byte)'H';
    private const byte DescriptorBatch = (byte)'D';
    private const int HeaderSize = 9;

    private int _descriptor;

    private HandoverChannel(int descriptor) => _descriptor = descriptor;

    /// <summary>
    /// A new pair: this daemon's end, and in <paramref name="successorEnd"/> the successor's, the one descriptor it
    /// inherits (not closed on exec); the caller closes its copy once the successor has started.
    /// </summary>
    public static unsafe HandoverChannel CreatePair(out int successorEnd)
    {
        int* ends = stackalloc int[2];
        if (Libc.SocketPair(Libc.AfUnix, Libc.SockStream | Libc.SockCloseOnExec, 0, ends) < 0)
        {
            throw new IOException("socketpair: " + Libc.LastErrorText());
        }
        if (Libc.Fcntl(ends[1], Libc.FSetFd, 0) < 0)
        {
            string error = Libc.LastErrorText();
            Libc.Close(ends[0]);
            Libc.Close(ends[1]);
            throw new IOException("cannot pass the live-update channel: " + error);
        }
        successorEnd = ends[1];
        return new HandoverChannel(ends[0]);
    }

    /// <summary>
    /// The successor's end, inherited from the daemon that started it; closed on exec from now on (a later live
    /// update makes a pair of its own).
    /// </summary>
    public static HandoverChannel Adopt(int descriptor)
    {
        if (Libc.Fcntl(descriptor, Libc.FSetFd, Libc.FdCloexec) < 0)
        {
            throw new IOException($"the live-update channel (descriptor {descriptor}) is not open: {Libc.LastErrorText()}");
        }
        return new HandoverChannel(descriptor);
    }

    /// <summary>Sends one of the successor's signals.</summary>
    public unsafe void Signal(byte signal) => SendAll(new ReadOnlySpan<byte>(&signal, 1));

    /// <summary>
    /// Waits for the other side's next byte: the byte, or null when the other side closed its end (it exited).
    /// Throws <see cref="TimeoutException"/> when nothing came in time.
    /// </summary>
    public unsafe byte? Receive(TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var poll = new Libc.PollFd { Fd = _descriptor, Events = Libc.PollIn };
        while (true)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                throw new TimeoutException();
            }
            int ready = Libc.Poll(&poll, 1, (int)Math.Min(left, int.MaxValue));
            if (ready < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR)
            {
                throw new IOException("poll: " + Libc.LastErrorText());
            }
            if (ready > 0)
            {
                byte value;
                return ReceiveExactly(new Span<byte>(&value, 1), endAllowed: true) ? value : null;
            }
        }
    }

    /// <summary>Daemon: the hand-over: the descriptors, in order, then the record.</summary>
    public void SendHandover(IReadOnlyList<int> descriptors, ReadOnlySpan<byte> record)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        header[0] = HandoverHeader;
        BinaryPrimitives.WriteInt32LittleEndian(header[1..], descriptors.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[5..], record.Length);
        SendAll(header);
        for (int sent = 0; sent < descriptors.Count; sent += Libc.ScmMaxDescriptors)
        {
            SendDescriptors(descriptors, sent, Math.Min(Libc.ScmMaxDescriptors, descriptors.Count - sent));
        }
        SendAll(record);
    }

    /// <summary>
    /// Successor: waits for the hand-over and returns its descriptors (closed on exec) and record. Throws
    /// <see cref="EndOfStreamException"/> when the daemon closed its end instead (it gave the update up).
    /// </summary>
    public (List<int> Descriptors, byte[] Record) ReceiveHandover()
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        if (!ReceiveExactly(header, endAllowed: true))
        {
            throw new EndOfStreamException("the previous daemon gave the live update up");
        }
        if (header[0] != HandoverHeader)
        {
            throw new InvalidDataException("not a live-update hand-over");
        }
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[1..]);
        int length = BinaryPrimitives.ReadInt32LittleEndian(header[5..]);
        var descriptors = new List<int>(count);
        try
        {
            while (descriptors.Count < count)
            {
                ReceiveDescriptors(descriptors, Math.Min(Libc.ScmMaxDescriptors, count - descriptors.Count));
            }
            byte[] record = new byte[length];
            ReceiveExactly(record, endAllowed: false);
            return (descriptors, record);
        }
        catch
        {
            foreach (int descriptor in descriptors)
            {
                Libc.Close(descriptor);
            }
            throw;
        }
    }

    /// <summary>Wakes a side blocked on the channel (the end of the stream for both) without closing it.</summary>
    public void ShutDown() => Libc.Shutdown(_descriptor, 2);

    private unsafe void SendDescriptors(IReadOnlyList<int> descriptors, int first, int count)
    {
        int dataLength = count * sizeof(int);
        byte* control = stackalloc byte[Libc.ControlMessageSpace(dataLength)];
        var header = (Libc.ControlMessageHeader*)control;
        header->Length = (nuint)Libc.ControlMessageLength(dataLength);
        header->Level = Libc.SolSocket;
        header->Type = Libc.ScmRights;
        int* data = (int*)(control + sizeof(Libc.ControlMessageHeader));
        for (int i = 0; i < count; i++)
        {
            data[i] = descriptors[first + i];
        }
        // One byte of data carries each batch: ancillary data travels with bytes.
        byte marker = DescriptorBatch;
        var vector = new Libc.IoVector { Base = &marker, Length = 1 };
        var message = new Libc.MessageHeader
        {
            Vectors = &vector,
            VectorCount = 1,
            Control = control,
            ControlLength = (nuint)Libc.ControlMessageSpace(dataLength),
        };
        while (Libc.SendMessage(_descriptor, &message, Libc.MsgNoSignal) < 0)
        {
            if (Marshal.GetLastPInvokeError() != Errno.EINTR)
            {
                throw new IOException("sendmsg: " + Libc.LastErrorText());
            }
        }
    }

    private unsafe void ReceiveDescriptors(List<int> descriptors, int expected)
    {
        int space = Libc.ControlMessageSpace(Libc.ScmMaxDescriptors * sizeof(int));
        byte* control = stackalloc byte[space];
        byte marker = 0;
        var vector = new Libc.IoVector { Base = &marker, Length = 1 };
        var message = new Libc.MessageHeader
        {
            Vectors = &vector,
            VectorCount = 1,
            Control = control,
            ControlLength = (nuint)space,
        };
        nint received;
        while ((received = Libc.ReceiveMessage(_descriptor, &message, Libc.MsgCmsgCloexec)) < 0)
        {
            if (Marshal.GetLastPInvokeError() != Errno.EINTR)
            {
                throw new IOException("recvmsg: " + Libc.LastErrorText());
            }
        }
        if (received == 0)
        {
            throw new EndOfStreamException("the previous daemon closed the live-update channel");
        }
        int before = descriptors.Count;
        // The batch's one control message (the kernel puts nothing else on a Unix socket unless asked).
        if (message.ControlLength >= (nuint)sizeof(Libc.ControlMessageHeader))
        {
            var header = (Libc.ControlMessageHeader*)control;
            if (header->Level == Libc.SolSocket && header->Type == Libc.ScmRights)
            {
                int count = ((int)header->Length - sizeof(Libc.ControlMessageHeader)) / sizeof(int);
                int* data = (int*)(control + sizeof(Libc.ControlMessageHeader));
                for (int i = 0; i < count; i++)
                {
                    descriptors.Add(data[i]);
                }
            }
        }
        if (marker != DescriptorBatch || (message.Flags & Libc.MsgCtrunc) != 0 || descriptors.Count - before != expected)
        {
            throw new InvalidDataException($"a batch of {expected} descriptors came with {descriptors.Count - before}");
        }
    }

    private unsafe void SendAll(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* start = bytes)
        {
            int sent = 0;
            while (sent < bytes.Length)
            {
                nint result = Libc.Send(_descriptor, start + sent, bytes.Length - sent, Libc.MsgNoSignal);
                if (result < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR)
                    {
                        continue;
                    }
                    throw new IOException("the live-update channel: " + Libc.LastErrorText());
                }
                sent += (int)result;
            }
        }
    }

    /// <summary>Fills the span; false when the stream ended before its first byte and that is allowed.</summary>
    private unsafe bool ReceiveExactly(Span<byte> bytes, bool endAllowed)
    {
        fixed (byte* start = bytes)
        {
            int received = 0;
            while (received < bytes.Length)
            {
                nint result = Libc.Receive(_descriptor, start + received, bytes.Length - received, 0);
                if (result < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }
                    if (errno == Errno.ECONNRESET && received == 0 && endAllowed)
                    {
                        return false;
                    }
                    throw new IOException("the live-update channel: " + Libc.LastErrorText());
                }
                if (result == 0)
                {
                    if (received == 0 && endAllowed)
                    {
                        return false;
                    }
                    throw new EndOfStreamException("the live-update channel ended in the middle of a message");
                }
                received += (int)result;
            }
        }
        return true;
    }

    public void Dispose()
    {
        int descriptor = Interlocked.Exchange(ref _descriptor, -1);
        if (descriptor >= 0)
        {
            Libc.Close(descriptor);
        }
    }
}
