using Xenstore.Protocol;

namespace Xenstore.Server.Hypervisor;

/// <summary>
/// A mapped <c>struct xenstore_domain_interface</c>. The guest changes it concurrently, so every index is read
/// and written with volatile semantics and copies are fenced as docs/misc/xenstore-ring.txt requires.
/// </summary>
internal sealed unsafe class GuestPage(byte* page, Action unmap) : IDisposable
{
    private byte* _page = page;

    public uint Read(int offset) => Volatile.Read(ref *(uint*)(_page + offset));

    public void Write(int offset, uint value) => Volatile.Write(ref *(uint*)(_page + offset), value);

    /// <summary>Copies <paramref name="destination"/>.Length bytes out of a ring starting at a free-running index.</summary>
    public void CopyFromRing(int ringOffset, uint index, Span<byte> destination)
    {
        int position = (int)(index & (RingLayout.RingSize - 1));
        int first = Math.Min(destination.Length, RingLayout.RingSize - position);
        new ReadOnlySpan<byte>(_page + ringOffset + position, first).CopyTo(destination);
        new ReadOnlySpan<byte>(_page + ringOffset, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Copies <paramref name="source"/> into a ring starting at a free-running index.</summary>
    public void CopyToRing(int ringOffset, uint index, ReadOnlySpan<byte> source)
    {
        int position = (int)(index & (RingLayout.RingSize - 1));
        int first = Math.Min(source.Length, RingLayout.RingSize - position);
        source[..first].CopyTo(new Span<byte>(_page + ringOffset + position, first));
        source[first..].CopyTo(new Span<byte>(_page + ringOffset, source.Length - first));
    }

    public void Fill(int offset, int length, byte value) => new Span<byte>(_page + offset, length).Fill(value);

    public void Dispose()
    {
        if (_page != null)
        {
            _page = null;
            unmap();
        }
    }
}
