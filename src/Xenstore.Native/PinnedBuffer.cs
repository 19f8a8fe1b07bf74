namespace Xenstore.Native;

/// <summary>
/// Byte arrays that never move (the pinned object heap), so the kernel may fill or read them during a system call
/// while the collector runs on another thread.
/// </summary>
internal static class PinnedBuffer
{
    public static byte[] Allocate(int length) => GC.AllocateUninitializedArray<byte>(length, pinned: true);

    /// <summary>Replaces <paramref name="buffer"/> by a pinned one of <paramref name="length"/> bytes, keeping its start.</summary>
    public static void Resize(ref byte[] buffer, int length)
    {
        byte[] larger = Allocate(length);
        buffer.AsSpan(0, Math.Min(buffer.Length, length)).CopyTo(larger);
        buffer = larger;
    }
}
