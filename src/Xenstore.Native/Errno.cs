using System.Runtime.InteropServices;
using Xenstore.Protocol;

namespace Xenstore.Native;

/// <summary>
/// Linux errno numbers (asm-generic/errno-base.h and errno.h: the same on x86_64 and arm64), the one an ERROR
/// reply's name stands for, and glibc's text for each.
/// </summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int E2BIG = 7;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int EPIPE = 32;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int EISCONN = 106;
    public const int ETIMEDOUT = 110;

    /// <summary>
    /// The errno an ERROR reply's name stands for (xs_wire.h pairs each name with its errno); a name outside the
    /// table is EINVAL, as libxenstore makes it.
    /// </summary>
    public static int Of(XsError error) => error switch
    {
        XsError.EPERM => EPERM,
        XsError.ENOENT => ENOENT,
        XsError.EIO => EIO,
        XsError.E2BIG => E2BIG,
        XsError.EAGAIN => EAGAIN,
        XsError.ENOMEM => ENOMEM,
        XsError.EACCES => EACCES,
        XsError.EBUSY => EBUSY,
        XsError.EEXIST => EEXIST,
        XsError.EISDIR => EISDIR,
        XsError.ENOSPC => ENOSPC,
        XsError.EROFS => EROFS,
        XsError.ENOSYS => ENOSYS,
        XsError.ENOTEMPTY => ENOTEMPTY,
        XsError.EISCONN => EISCONN,
        _ => EINVAL,
    };

    /// <summary>
    /// glibc's <c>strerror</c> text for <paramref name="number"/>, as the C tools print it: the runtime leaves the
    /// C locale at "C" whatever LANG says (it never calls <c>setlocale(LC_ALL, "")</c>), so the text is never a
    /// translation, and neither is theirs.
    /// </summary>
    public static string Text(int number) => Marshal.GetPInvokeErrorMessage(number);
}
