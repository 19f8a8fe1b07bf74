using Xenstore.Protocol;

namespace Xenstore.Client;

/// <summary>
/// The daemon answered with an ERROR reply (or the client refused the request before sending it, for the same
/// reason the daemon would have). <see cref="Error"/> is the errno; the common ones have their own subclass.
/// </summary>
public class XenstoreErrorException : XenstoreException
{
    /// <summary>Creates the exception for <paramref name="error"/>.</summary>
    public XenstoreErrorException(XsError error, string message) : base(message)
    {
        Error = error;
    }

    /// <summary>The errno the daemon sent, e.g. <see cref="XsError.ENOENT"/>.</summary>
    public XsError Error { get; }

    /// <summary>True when the client rejected the request locally (bad path, payload over 4096 bytes).</summary>
    public bool IsLocal { get; init; }

    /// <summary>Creates the most specific exception type for an errno.</summary>
    public static XenstoreErrorException Create(XsError error, string operation, string? path) =>
        Create(error, Describe(error, operation, path));

    private static XenstoreErrorException Create(XsError error, string message) => error switch
    {
        XsError.ENOENT => new XenstoreNotFoundException(message),
        XsError.EACCES => new XenstoreAccessDeniedException(message),
        XsError.EAGAIN => new XenstoreConflictException(message),
        XsError.ENOSPC => new XenstoreQuotaException(message),
        _ => new XenstoreErrorException(error, message),
    };

    private static string Describe(XsError error, string operation, string? path) =>
        path is null ? $"{operation}: {XsErrors.Name(error)}" : $"{operation} {path}: {XsErrors.Name(error)}";
}

/// <summary>ENOENT: no such node, transaction or watch.</summary>
public sealed class XenstoreNotFoundException(string message) : XenstoreErrorException(XsError.ENOENT, message);

/// <summary>EACCES: permission denied (also what a node hidden by permissions reports).</summary>
public sealed class XenstoreAccessDeniedException(string message) : XenstoreErrorException(XsError.EACCES, message);

/// <summary>EAGAIN: the transaction conflicted with another change; run it again.</summary>
public sealed class XenstoreConflictException(string message) : XenstoreErrorException(XsError.EAGAIN, message);

/// <summary>ENOSPC: a quota (nodes, watches, transactions, ...) is exhausted.</summary>
public sealed class XenstoreQuotaException(string message) : XenstoreErrorException(XsError.ENOSPC, message);
