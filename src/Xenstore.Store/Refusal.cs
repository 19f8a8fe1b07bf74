using Xenstore.Protocol;

namespace Xenstore.Store;

/// <summary>Why an unprivileged domain's request was refused.</summary>
public enum RefusalKind
{
    /// <summary>A quota (ENOSPC, or EINVAL for path-max): <see cref="Refusal.Quota"/> and <see cref="Refusal.Limit"/> say which.</summary>
    Quota,

    /// <summary>The node's permissions (EACCES).</summary>
    Permission,
}

/// <summary>
/// One request of an unprivileged domain refused for a quota or for permissions, reported to the host so a guest
/// hitting a limit is never silent in dom0. Permission refusals the engine hides as ENOENT (existence hiding) are
/// not reported: the guest cannot tell them from a missing node either.
/// </summary>
/// <param name="ConnectionId">The connection that sent the request.</param>
/// <param name="Domid">Its domain.</param>
/// <param name="Operation">The request's type.</param>
/// <param name="Path">The canonical path the request named, or empty for requests without one.</param>
/// <param name="Kind">Quota or permissions.</param>
/// <param name="Quota">For a quota refusal, which quota.</param>
/// <param name="Limit">For a quota refusal, the limit in force for the domain.</param>
public readonly record struct Refusal(
    int ConnectionId,
    uint Domid,
    XsMessageType Operation,
    string Path,
    RefusalKind Kind,
    Quota Quota,
    long Limit);
