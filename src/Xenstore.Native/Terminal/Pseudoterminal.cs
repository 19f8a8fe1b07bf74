using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>
/// Pseudo-terminals (stdlib.h, termios.h): the tests' stand-in for the xenbus device is one, because a pty slave
/// is a path that reads and writes like a character device.
/// </summary>
internal static unsafe partial class Pseudoterminal
{
    public const int TcsaNow = 0;

    /// <summary>
    /// Bytes to reserve for a <c>struct termios</c>, which is only handed from <see cref="GetAttributes"/> to
    /// <see cref="MakeRaw"/> and <see cref="SetAttributes"/>, never read here (60 bytes with glibc on x86_64 and
    /// arm64).
    /// </summary>
    public const int TermiosSize = 256;

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    public static partial int OpenMaster(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    public static partial int Grant(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    public static partial int Unlock(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    public static partial int SlaveName(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int GetAttributes(int fd, byte* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    public static partial void MakeRaw(byte* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int SetAttributes(int fd, int action, byte* termios);
}
