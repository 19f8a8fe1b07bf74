namespace Xenstore.Protocol;

/// <summary>What a path names, judged by its syntax alone.</summary>
public enum XsPathKind
{
    /// <summary>Not a valid path: bad characters, <c>//</c>, a trailing <c>/</c>, or empty.</summary>
    Invalid,
    /// <summary>Starts with <c>/</c>.</summary>
    Absolute,
    /// <summary>Relative to the connection's home <c>/local/domain/&lt;domid&gt;</c>.</summary>
    Relative,
    /// <summary>A watch-only pseudo path such as <c>@releaseDomain</c>.</summary>
    Special,
}
