namespace Xenstore.Protocol;

/// <summary>The access letters of a permission entry.</summary>
[Flags]
public enum XsAccess : byte
{
    /// <summary><c>n</c>: no access.</summary>
    None = 0,
    /// <summary><c>r</c>: read.</summary>
    Read = 1,
    /// <summary><c>w</c>: write.</summary>
    Write = 2,
    /// <summary><c>b</c>: read and write.</summary>
    Both = Read | Write,
}
