using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xenstore.Native;
using Xenstore.Protocol;

namespace Xenstore.TestKit;

/// <summary>
/// A stand-in for Linux's <c>/dev/xen/xenbus</c>: a pseudo-terminal in raw mode (8-bit clean, no echo, no line
/// editing) whose slave, <c>/dev/pts/N</c>, is the device file the client opens read-write. This side holds the
/// master, cuts what the client writes into whole messages and forwards each to a daemon over its socket, and writes
/// the daemon's replies and watch events back, as the kernel driver forwards to xenstored. A pty is one path that
/// reads and writes like a character device, which two FIFOs or a socket (not openable as a file) are not.
/// </summary>
public sealed unsafe class PtyXenbusDevice : IDisposable
{
    // Close-on-exec: a daemon started meanwhile by another test must not inherit the pty and keep it alive.
    private const int OpenFlags = Libc.ORdWr | Libc.ONoCtty | Libc.OCloExec;

    private readonly int _master;
    private readonly int _slave;
    private readonly Socket _daemon;
    private readonly Thread _toDaemon;
    private readonly Thread _fromDaemon;
    private volatile bool _closed;
    private int _messages;

    private PtyXenbusDevice(string daemonSocket)
    {
        _master = Pseudoterminal.OpenMaster(OpenFlags);
        Check(_master >= 0 && Pseudoterminal.Grant(_master) == 0 && Pseudoterminal.Unlock(_master) == 0, "posix_openpt");
        byte* name = stackalloc byte[128];
        Check(Pseudoterminal.SlaveName(_master, name, 128) == 0, "ptsname_r");
        DevicePath = Marshal.PtrToStringUTF8((nint)name)!;
        // Held open by the stand-in too, so the master never sees the slave's last close (EIO) between clients.
        _slave = Libc.Open(DevicePath, OpenFlags);
        Check(_slave >= 0, "open " + DevicePath);
        byte* termios = stackalloc byte[Pseudoterminal.TermiosSize];
        Check(Pseudoterminal.GetAttributes(_slave, termios) == 0, "tcgetattr");
        Pseudoterminal.MakeRaw(termios);
        Check(Pseudoterminal.SetAttributes(_slave, Pseudoterminal.TcsaNow, termios) == 0, "tcsetattr");
        _daemon = UnixSocketConnector.Connect(daemonSocket);
        _toDaemon = new Thread(PumpToDaemon) { IsBackground = true, Name = "xenbus stand-in: to daemon" };
        _fromDaemon = new Thread(PumpFromDaemon) { IsBackground = true, Name = "xenbus stand-in: from daemon" };
        _toDaemon.Start();
        _fromDaemon.Start();
    }

    /// <summary>The device file to give the client (<c>/dev/pts/N</c>).</summary>
    public string DevicePath { get; }

    /// <summary>Whole messages the client wrote so far.</summary>
    public int MessagesForwarded => Volatile.Read(ref _messages);

    public static PtyXenbusDevice Start(string daemonSocket) => new(daemonSocket);

    private void PumpToDaemon()
    {
        var pending = new List<byte>();
        byte[] buffer = new byte[8192];
        try
        {
            while (!_closed)
            {
                var poll = new Libc.PollFd { Fd = _master, Events = Libc.PollIn };
                if (Libc.Poll(&poll, 1, 50) <= 0)
                {
                    continue;
                }
                nint read;
                fixed (byte* p = buffer)
                {
                    read = Libc.Read(_master, p, buffer.Length);
                }
                if (read <= 0)
                {
                    continue;
                }
                pending.AddRange(buffer.AsSpan(0, (int)read));
                while (FrameParser.TryParse(pending.ToArray(), out _, out int length) == FrameStatus.Complete)
                {
                    _daemon.Send(pending.GetRange(0, length).ToArray());
                    pending.RemoveRange(0, length);
                    Interlocked.Increment(ref _messages);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private void PumpFromDaemon()
    {
        byte[] buffer = new byte[8192];
        try
        {
            while (!_closed)
            {
                int read = _daemon.Receive(buffer);
                if (read == 0)
                {
                    return;
                }
                fixed (byte* p = buffer)
                {
                    int done = 0;
                    while (done < read && !_closed)
                    {
                        nint written = Libc.Write(_master, p + done, read - done);
                        if (written > 0)
                        {
                            done += (int)written;
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Takes the device away: the client's reads fail as on a dead device.</summary>
    public void Dispose()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        _daemon.Shutdown(SocketShutdown.Both);
        _toDaemon.Join();
        _fromDaemon.Join();
        _daemon.Dispose();
        _ = Libc.Close(_slave);
        _ = Libc.Close(_master);
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new IOException(what + ": " + Libc.LastErrorText());
        }
    }
}
