using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// Socket calls without a managed form: accept4 with flags, send/recv on a raw descriptor, and a Unix socket opened
/// and connected without .NET's <c>Socket</c> (whose first use starts the runtime's socket engine thread).
/// </summary>
internal static partial class Libc
{
    public const int AfUnix = 1;
    public const int SockStream = 1;
    public const int SockNonBlock = 0x800;
    public const int SockCloseOnExec = 0x80000;

    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;

    /// <summary>Takes a connection from a listening socket's backlog; without an address, with the given flags.</summary>
    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int descriptor, nint address, nint addressLength, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static unsafe partial nint Receive(int descriptor, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static unsafe partial nint Send(int descriptor, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    /// <summary><paramref name="address"/> is a <c>struct sockaddr_un</c> (<see cref="UnixAddress"/>).</summary>
    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static unsafe partial int Connect(int descriptor, byte* address, int addressLength);

    /// <summary><c>sizeof(sun_path)</c> in <c>struct sockaddr_un</c> (sys/un.h), NUL included.</summary>
    public const int UnixPathMax = 108;

    /// <summary>
    /// <c>struct sockaddr_un</c> for <paramref name="path"/>: <c>sa_family_t sun_family</c> (2 bytes), then the
    /// path and its NUL; null when the path does not fit.
    /// </summary>
    public static byte[]? UnixAddress(string path)
    {
        int length = System.Text.Encoding.UTF8.GetByteCount(path);
        if (length >= UnixPathMax)
        {
            return null;
        }
        byte[] address = new byte[2 + length + 1];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(address, AfUnix);
        System.Text.Encoding.UTF8.GetBytes(path, address.AsSpan(2));
        return address;
    }
}
