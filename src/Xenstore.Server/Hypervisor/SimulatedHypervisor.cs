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
        // Read-write so the FIFO never reports end-of-file when the last guest closes its end.
        _eventFd = Libc.Open(fifo, Libc.ORdWr);
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

    public void Notify(uint localPort)
    {
        string fifo = Path.Combine(_directory, $"notify.{localPort - LocalPortBase}");
        if (!File.Exists(fifo))
        {
            return;
        }
        // Non-blocking: a guest that does not read its notifications must not stall the daemon.
        int fd = Libc.Open(fifo, Libc.OWrOnly | Libc.ONonBlock);
        if (fd < 0)
        {
            return;
        }
        uint port = localPort;
        Libc.Write(fd, (byte*)&port, 4);
        Libc.Close(fd);
    }

    /// <summary>
    /// The next notification. The FIFO is drained in bulk (whatever is there, up to the buffer) and the ports are
    /// handed out from the buffer, so a storm of notifications costs one read per buffer, not one per port.
    /// </summary>
    public uint? WaitForEvent()
    {
        while (!_closed)
        {
            if (_eventsLength - _eventsOffset >= 4)
            {
                uint port = BinaryPrimitives.ReadUInt32LittleEndian(_events.AsSpan(_eventsOffset));
                _eventsOffset += 4;
                return port;
            }
            // A partial port stays at the front for the rest of it.
            int rest = _eventsLength - _eventsOffset;
            _events.AsSpan(_eventsOffset, rest).CopyTo(_events);
            _eventsOffset = 0;
            _eventsLength = rest;
            nint n;
            fixed (byte* p = _events)
            {
                n = Libc.Read(_eventFd, p + _eventsLength, _events.Length - _eventsLength);
            }
            if (n <= 0)
            {
                if (_closed)
                {
                    return null;
                }
                Thread.Sleep(1);
                continue;
            }
            _eventsLength += (int)n;
        }
        return null;
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

    /// <summary>Wakes a thread blocked in <see cref="WaitForEvent"/> by writing a port nobody owns.</summary>
    public void Dispose()
    {
        _closed = true;
        uint wake = 0;
        Libc.Write(_eventFd, (byte*)&wake, 4);
        Libc.Close(_eventFd);
    }
}
