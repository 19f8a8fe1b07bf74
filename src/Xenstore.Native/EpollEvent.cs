using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// <c>struct epoll_event</c> where the kernel declares it packed: on x86_64 only (<c>EPOLL_PACKED</c> in
/// linux/eventpoll.h), so the 64-bit data follows the events at offset 4 and the entry is 12 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct PackedEpollEvent
{
    public uint Events;
    public ulong Data;
}

/// <summary>
/// <c>struct epoll_event</c> on every other architecture, arm64 among them: naturally aligned, data at offset 8,
/// 16 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AlignedEpollEvent
{
    public uint Events;
    public ulong Data;
}

/// <summary>
/// Reads and writes epoll entries in the layout of the architecture the process runs on. The build is one IL image
/// for every architecture, so the choice is made at run time; it is a static read-only value, which the JIT treats
/// as a constant and folds the branches away.
/// </summary>
internal static class EpollEventLayout
{
    public static bool IsPacked { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>Bytes per entry in an array of them.</summary>
    public static int Size { get; } = IsPacked ? Marshal.SizeOf<PackedEpollEvent>() : Marshal.SizeOf<AlignedEpollEvent>();

    /// <summary>Writes one entry at the start of <paramref name="entry"/>, which holds at least <see cref="Size"/> bytes.</summary>
    public static void Write(Span<byte> entry, uint events, ulong data)
    {
        if (IsPacked)
        {
            MemoryMarshal.Write(entry, new PackedEpollEvent { Events = events, Data = data });
        }
        else
        {
            MemoryMarshal.Write(entry, new AlignedEpollEvent { Events = events, Data = data });
        }
    }

    public static (uint Events, ulong Data) Read(ReadOnlySpan<byte> entry)
    {
        if (IsPacked)
        {
            PackedEpollEvent packed = MemoryMarshal.Read<PackedEpollEvent>(entry);
            return (packed.Events, packed.Data);
        }
        AlignedEpollEvent aligned = MemoryMarshal.Read<AlignedEpollEvent>(entry);
        return (aligned.Events, aligned.Data);
    }
}
