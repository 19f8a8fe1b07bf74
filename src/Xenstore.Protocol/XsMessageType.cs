namespace Xenstore.Protocol;

/// <summary>Message types of the Xenstore wire protocol (<c>enum xsd_sockmsg_type</c> in xs_wire.h).</summary>
public enum XsMessageType : uint
{
    /// <summary>CONTROL (formerly DEBUG): daemon commands such as <c>check</c> or <c>quota</c>.</summary>
    Control = 0,
    /// <summary>List the children of a node.</summary>
    Directory = 1,
    /// <summary>Read a node's value.</summary>
    Read = 2,
    /// <summary>Read a node's permissions.</summary>
    GetPerms = 3,
    /// <summary>Register a watch.</summary>
    Watch = 4,
    /// <summary>Remove a watch.</summary>
    Unwatch = 5,
    /// <summary>Open a transaction.</summary>
    TransactionStart = 6,
    /// <summary>Commit (<c>T</c>) or abort (<c>F</c>) a transaction.</summary>
    TransactionEnd = 7,
    /// <summary>Tell the daemon about a new guest domain and its ring.</summary>
    Introduce = 8,
    /// <summary>Forget a guest domain.</summary>
    Release = 9,
    /// <summary>Return <c>/local/domain/&lt;domid&gt;</c>.</summary>
    GetDomainPath = 10,
    /// <summary>Write a node's value, creating it and missing parents.</summary>
    Write = 11,
    /// <summary>Create a node with an empty value if it does not exist.</summary>
    Mkdir = 12,
    /// <summary>Remove a node and its subtree.</summary>
    Rm = 13,
    /// <summary>Replace a node's permissions.</summary>
    SetPerms = 14,
    /// <summary>Server to client only: a watch fired.</summary>
    WatchEvent = 15,
    /// <summary>Server to client only: the request failed; the payload is the errno name.</summary>
    Error = 16,
    /// <summary>Whether a domain is introduced (<c>T</c>/<c>F</c>).</summary>
    IsDomainIntroduced = 17,
    /// <summary>Clear a domain's shutdown state.</summary>
    Resume = 18,
    /// <summary>Let one domain act with another's permissions.</summary>
    SetTarget = 19,
    /// <summary>Removed from the protocol (was RESTRICT); always ENOSYS.</summary>
    Restrict = 20,
    /// <summary>Drop every watch and transaction of the connection.</summary>
    ResetWatches = 21,
    /// <summary>List children in chunks, with a generation to detect changes.</summary>
    DirectoryPart = 22,
    /// <summary>Read the feature bits of the server or of a domain.</summary>
    GetFeature = 23,
    /// <summary>Set the feature bits of a domain before it is introduced.</summary>
    SetFeature = 24,
    /// <summary>Read quota names, global quota values or per-domain quota values.</summary>
    GetQuota = 25,
    /// <summary>Set a global or per-domain quota value.</summary>
    SetQuota = 26,
    /// <summary>Marker for an invalid message (<c>XS_INVALID</c>).</summary>
    Invalid = 0xffff,
}
