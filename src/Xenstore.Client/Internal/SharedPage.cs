using System.IO.MemoryMappedFiles;
using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// A guest's view of <c>struct xenstore_domain_interface</c>: the 4 KiB page mapped shared. Fields are read and
/// written as volatile 32-bit values; callers put the full barriers where docs/misc/xenstore-ring.txt wants them.
/// </summary>
internal sealed unsafe class SharedPage : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _page;
    private bool _disposed;

    private SharedPage(MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        _file = file;
        _view = view;
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _page = pointer + _view.PointerOffset;
    }

    /// <summary>Maps an existing page file; throws <see cref="FileNotFoundException"/> when there is none.</summary>
    public static SharedPage Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("No such file or directory", path);
        }
        MemoryMappedFile file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, RingLayout.PageSize,
            MemoryMappedFileAccess.ReadWrite);
        try
        {
            return new SharedPage(file, file.CreateViewAccessor(0, RingLayout.PageSize, MemoryMappedFileAccess.ReadWrite));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public uint Read(int offset) => Volatile.Read(ref *(uint*)(_page + offset));

    public void Write(int offset, uint value) => Volatile.Write(ref *(uint*)(_page + offset), value);

    /// <summary>Copies from the ring at <paramref name="ring"/>, starting at free-running index <paramref name="index"/>.</summary>
    public void CopyFrom(int ring, uint index, Span<byte> destination)
    {
        int position = (int)(index & (RingLayout.RingSize - 1));
        int first = Math.Min(destination.Length, RingLayout.RingSize - position);
        new ReadOnlySpan<byte>(_page + ring + position, first).CopyTo(destination);
        new ReadOnlySpan<byte>(_page + ring, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Copies into the ring at <paramref name="ring"/>, starting at free-running index <paramref name="index"/>.</summary>
    public void CopyTo(int ring, uint index, ReadOnlySpan<byte> source)
    {
        int position = (int)(index & (RingLayout.RingSize - 1));
        int first = Math.Min(source.Length, RingLayout.RingSize - position);
        source[..first].CopyTo(new Span<byte>(_page + ring + position, first));
        source[first..].CopyTo(new Span<byte>(_page + ring, source.Length - first));
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
