namespace Xenstore.Store.Requests;

/// <summary>What <see cref="RequestChecks.LookUp"/> decided.</summary>
internal enum PathLookup
{
    /// <summary>Not decided there: the general path resolves the argument and gives the error.</summary>
    Unresolved,

    Found,

    /// <summary>A valid path within quota that names no node.</summary>
    Missing,
}
