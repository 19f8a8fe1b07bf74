using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Xenstore.Server.Hypervisor;

/// <summary>
/// A hypervisor made of files, the same layout the C reference daemons see through a preloaded stand-in for the Xen
/// libraries, so one guest-side driver tests all three: guest N's page is the 4096-byte file <c>DIR/ring.N</c>; a
/// guest notifies the daemon by writing the little-endian u32 <c>100+N</c> into the FIFO <c>DIR/evt</c>; domain N
/// is dying while <c>DIR/dying.N</c> exists (and port 1, VIRQ_DOM_EXC, is written). The daemon notifies guest N by
/// writing its local port to the FIFO <c>DIR/notify.N</c> when that FIFO exists and someone reads it.
/// </summary>
internal sealed unsafe class SimulatedHypervisor : IHypervisor
{
    private const uint LocalPortBase = 100;
    private readonly string _directory;
    private readonly int _eventFd;
    private volatile bool _closed;
    private readonly byte[] _events = new byte[4096];
    private int _eventsOffset;
    private int _eventsLength;
    private readonly Dictionary<uint, Notifier> _notifiers = [];

    public SimulatedHypervisor(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        string fifo = Path.Combine(directory, "evt");
        if (!File.Exists(fifo))
        {
            if (Libc.MkFifo(fifo, (uint)(UnixFileMode.UserRead | UnixFileMode.UserWrite)) != 0 && !File.Exists(fifo))
            {
                throw new IOException("cannot create FIFO " + fifo);
            }
        }
        // Read-write so the FIFO never reports end-of-file when the last guest closes its end; non-blocking so the
        // store thread drains it without ever waiting.
        _eventFd = Libc.Open(fifo, Libc.ORdWr | Libc.ONonBlock | Libc.OCloExec);
        if (_eventFd < 0)
        {
            throw new IOException("cannot open " + fifo);
        }
    }

    public uint DomainExceptionPort => 1;

    public GuestPage MapPage(uint domid, ulong gfn)
    {
        string path = Path.Combine(_directory, $"ring.{domid}");
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.OpenOrCreate, null, Protocol.RingLayout.PageSize, MemoryMappedFileAccess.ReadWrite);
        MemoryMappedViewAccessor view = file.CreateViewAccessor(0, Protocol.RingLayout.PageSize, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        pointer += view.PointerOffset;
        return new GuestPage(pointer, () =>
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            file.Dispose();
        });
    }

    public uint BindInterdomain(uint domid, uint remotePort) => LocalPortBase + domid;

    public void Unbind(uint localPort)
    {
    }

    /// <summary>
    /// Writes the port into <c>DIR/notify.N</c>. The FIFO stays open between notifications (one write each); a
    /// missing FIFO is looked for again at most every 100 ms, so a guest that polls costs no system call.
    /// </summary>
    public void Notify(uint localPort)
    {
        uint domid = localPort - LocalPortBase;
        if (!_notifiers.TryGetValue(domid, out Notifier notifier) || (notifier.Fd < 0 && Environment.TickCount64 >= notifier.RetryAt))
        {
            notifier = OpenNotifier(domid);
            _notifiers[domid] = notifier;
        }
        if (notifier.Fd < 0)
        {
            return;
        }
        uint port = localPort;
        if (Libc.Write(notifier.Fd, (byte*)&port, 4) < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Errno.EAGAIN)
        {
            // The guest's reader went away: find the FIFO again later.
            Libc.Close(notifier.Fd);
            _notifiers[domid] = new Notifier(-1, Environment.TickCount64 + 100);
        }
    }

    private Notifier OpenNotifier(uint domid)
    {
        // Non-blocking: a guest that does not read its notifications must not stall the daemon.
        int fd = Libc.Open(Path.Combine(_directory, $"notify.{domid}"), Libc.OWrOnly | Libc.ONonBlock | Libc.OCloExec);
        return new Notifier(fd, Environment.TickCount64 + 100);
    }

    public int EventDescriptor => _eventFd;

    /// <summary>
    /// Drains the FIFO in bulk (whatever is there, up to the buffer) and hands out the ports, so a storm of
    /// notifications costs one read per buffer, not one per port.
    /// </summary>
    public int TakePendingEvents(Span<uint> ports)
    {
        int count = 0;
        while (count < ports.Length)
        {
            if (_eventsLength - _eventsOffset >= 4)
            {
                ports[count++] = BinaryPrimitives.ReadUInt32LittleEndian(_events.AsSpan(_eventsOffset));
                _eventsOffset += 4;
                continue;
            }
            // A partial port stays at the front for the rest of it.
            int rest = _eventsLength - _eventsOffset;
            _events.AsSpan(_eventsOffset, rest).CopyTo(_events);
            _eventsOffset = 0;
            _eventsLength = rest;
            if (_closed)
            {
                break;
            }
            nint n;
            fixed (byte* p = _events)
            {
                n = Libc.Read(_eventFd, p + _eventsLength, _events.Length - _eventsLength);
            }
            if (n <= 0)
            {
                break;
            }
            _eventsLength += (int)n;
        }
        return count;
    }

    public void Unmask(uint localPort)
    {
    }

    public DomainState GetDomainState(uint domid) =>
        File.Exists(Path.Combine(_directory, $"dying.{domid}")) ? DomainState.Dying : DomainState.Running;

    /// <summary>Every <c>ring.N</c> page in the directory whose domain is not dying.</summary>
    public IReadOnlyList<uint> ExistingDomains() =>
        Directory.EnumerateFiles(_directory, "ring.*")
            .Select(path => Path.GetFileName(path)["ring.".Length..])
            .Select(suffix => uint.TryParse(suffix, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out uint domid) ? domid : (uint?)null)
            .OfType<uint>()
            .Where(domid => GetDomainState(domid) == DomainState.Running)
            .Order()
            .ToList();

    public void Dispose()
    {
        _closed = true;
        Libc.Close(_eventFd);
        foreach (Notifier notifier in _notifiers.Values.Where(n => n.Fd >= 0))
        {
            Libc.Close(notifier.Fd);
        }
    }

    /// <summary>An open notification FIFO, or -1 and when to look for it again.</summary>
    private readonly record struct Notifier(int Fd, long RetryAt);
}
