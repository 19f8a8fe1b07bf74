using System.Buffers;
using System.Globalization;

namespace Xenstore.Protocol;

/// <summary>Path syntax of docs/misc/xenstore.txt ("Paths"): validation, canonical form and the relative part.</summary>
public static class XsPath
{
    /// <summary>The pseudo path fired when a new domain is introduced.</summary>
    public const string IntroduceDomain = "@introduceDomain";

    /// <summary>The pseudo path fired when a domain is released, dies or shuts down.</summary>
    public const string ReleaseDomain = "@releaseDomain";

    /// <summary>The prefix of every domain's home.</summary>
    public const string DomainRoot = "/local/domain/";

    /// <summary>The bytes of <see cref="IsValidChar"/>, for a vectorised scan of a whole path.</summary>
    private static readonly SearchValues<byte> s_validChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@"u8);

    /// <summary>True for the bytes allowed in a path: <c>A-Z a-z 0-9 - / _ @</c>.</summary>
    public static bool IsValidChar(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'-' or (byte)'/' or (byte)'_' or (byte)'@';

    /// <summary>Classifies a path and checks its syntax (characters, no <c>//</c>, no trailing <c>/</c>).</summary>
    public static XsPathKind Classify(ReadOnlySpan<byte> path)
    {
        // Two vectorised scans rather than a test per byte: this runs for every path argument of every request.
        if (path.IsEmpty || path.IndexOfAnyExcept(s_validChars) >= 0 || path.IndexOf("//"u8) >= 0)
        {
            return XsPathKind.Invalid;
        }
        if (path[0] == (byte)'@')
        {
            return XsPathKind.Special;
        }
        if (path[^1] == (byte)'/' && path.Length > 1)
        {
            return XsPathKind.Invalid;
        }
        return path[0] == (byte)'/' ? XsPathKind.Absolute : XsPathKind.Relative;
    }

    /// <summary>The home directory of a domain, <c>/local/domain/&lt;domid&gt;</c>.</summary>
    public static string DomainPath(uint domid) => DomainRoot + domid.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The canonical (absolute) form of a valid path: relative paths are placed under the domain's home.
    /// Special paths are returned unchanged.
    /// </summary>
    public static string Canonicalize(ReadOnlySpan<byte> path, XsPathKind kind, uint domid)
    {
        int most = path.Length + HomePrefixMax;
        Span<char> buffer = most <= 512 ? stackalloc char[most] : new char[most];
        return new string(buffer[..Canonicalize(path, kind, domid, buffer)]);
    }

    /// <summary>The most characters <see cref="Canonicalize(ReadOnlySpan{byte}, XsPathKind, uint, Span{char})"/> puts before a relative path: <c>/local/domain/4294967295/</c>.</summary>
    public const int HomePrefixMax = 25;

    /// <summary>
    /// <see cref="Canonicalize(ReadOnlySpan{byte}, XsPathKind, uint)"/> into <paramref name="destination"/>, without a
    /// string: returns the number of characters written. The destination needs the path's length plus
    /// <see cref="HomePrefixMax"/>.
    /// </summary>
    public static int Canonicalize(ReadOnlySpan<byte> path, XsPathKind kind, uint domid, Span<char> destination)
    {
        int length = 0;
        if (kind == XsPathKind.Relative)
        {
            DomainRoot.CopyTo(destination);
            length = DomainRoot.Length;
            domid.TryFormat(destination[length..], out int digits, default, CultureInfo.InvariantCulture);
            length += digits;
            destination[length++] = '/';
        }
        // A valid path is ASCII only, so each byte is its character.
        return length + System.Text.Encoding.ASCII.GetChars(path, destination[length..]);
    }

    /// <summary>
    /// Length of the part of a canonical path below <c>/local/domain/&lt;n&gt;/</c> (the whole length when the path
    /// is elsewhere). Measuring this part keeps a path valid when a domain moves to a domid with more digits.
    /// </summary>
    public static int RelativeLength(string canonical) => RelativeLength(canonical.AsSpan());

    /// <inheritdoc cref="RelativeLength(string)"/>
    public static int RelativeLength(ReadOnlySpan<char> canonical)
    {
        if (!canonical.StartsWith(DomainRoot, StringComparison.Ordinal))
        {
            return canonical.Length;
        }
        int i = DomainRoot.Length;
        int digitsStart = i;
        while (i < canonical.Length && char.IsAsciiDigit(canonical[i]))
        {
            i++;
        }
        if (i == digitsStart || i >= canonical.Length || canonical[i] != '/')
        {
            return canonical.Length;
        }
        return canonical.Length - (i + 1);
    }

    /// <summary>
    /// The path to report to a watcher: relative watches receive paths relative to the watcher's home.
    /// </summary>
    public static string ToWatcherForm(string canonical, bool relativeWatch, uint domid)
    {
        if (!relativeWatch)
        {
            return canonical;
        }
        string home = DomainPath(domid);
        if (canonical.Length > home.Length && canonical.StartsWith(home, StringComparison.Ordinal) && canonical[home.Length] == '/')
        {
            return canonical[(home.Length + 1)..];
        }
        return canonical;
    }

    /// <summary>The parent of a canonical absolute path (<c>/</c> for top-level nodes).</summary>
    public static string Parent(string canonical)
    {
        int slash = LastSlash(canonical);
        return slash <= 0 ? "/" : canonical[..slash];
    }

    /// <summary>The last component of a canonical absolute path (empty for the root).</summary>
    public static string LastComponent(string canonical) => canonical[(LastSlash(canonical) + 1)..];

    /// <summary>
    /// The position of a path's last <c>/</c>, or -1: a plain scan from the end, since the last component is a few
    /// characters and the vectorised search costs more to set up than such a scan takes (it showed in profiles of
    /// every lookup).
    /// </summary>
    public static int LastSlash(ReadOnlySpan<char> path)
    {
        for (int i = path.Length - 1; i >= 0; i--)
        {
            if (path[i] == '/')
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>True when <paramref name="ancestor"/> is <paramref name="path"/> or one of its ancestors.</summary>
    public static bool IsSelfOrAncestor(string ancestor, string path)
    {
        if (ancestor == "/")
        {
            return path.Length > 0 && path[0] == '/';
        }
        return path.StartsWith(ancestor, StringComparison.Ordinal)
            && (path.Length == ancestor.Length || path[ancestor.Length] == '/');
    }

    /// <summary>Number of components below the root: <c>/</c> is 0, <c>/a/b</c> is 2.</summary>
    public static int Depth(string canonical)
    {
        if (canonical == "/")
        {
            return 0;
        }
        int count = 0;
        foreach (char c in canonical)
        {
            if (c == '/')
            {
                count++;
            }
        }
        return count;
    }
}
