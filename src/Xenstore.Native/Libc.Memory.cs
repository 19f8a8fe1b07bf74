using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>Mapping a descriptor's memory (io_uring's rings).</summary>
internal static partial class Libc
{
    public const int ProtReadWrite = 0x1 | 0x2;
    public const int MapShared = 0x01;
    public const int MapPopulate = 0x8000;

    /// <summary>The address <c>mmap</c> returns on failure.</summary>
    public const nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint MemoryMap(nint address, nint length, int protection, int flags, int descriptor, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int MemoryUnmap(nint address, nint length);
}
