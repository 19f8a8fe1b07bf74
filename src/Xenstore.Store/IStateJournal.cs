using Xenstore.Protocol;

namespace Xenstore.Store;

/// <summary>
/// Receives every change to the persistent state of the engine, in order, as absolute states (the node as it
/// now is, a removed subtree, a domain as it now is), so that replaying the records over any earlier state gives
/// the current one. Watches, transactions and connections are not persistent: they end with the process.
/// </summary>
public interface IStateJournal
{
    /// <summary>A node (or a special <c>@</c> path's permissions) now has this value and these permissions.</summary>
    void NodeWritten(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> perms);

    /// <summary>A node and its whole subtree are gone.</summary>
    void NodeRemoved(string path);

    /// <summary>A domain record now looks like this.</summary>
    void DomainWritten(DomainRecord domain);

    /// <summary>A domain record is gone (released).</summary>
    void DomainRemoved(uint domid);

    /// <summary>A global quota now has this value.</summary>
    void GlobalQuotaWritten(Quota quota, long value);
}
