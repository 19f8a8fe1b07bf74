using Xenstore.Protocol;
using Xenstore.Store.Domains;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Persistence;

/// <summary>
/// Writes the persistent state's changes to the journal as they happen on the live tree: nodes from the change
/// feed, and domains, global quotas and special paths from the requests that change them.
/// </summary>
internal sealed class JournalSink : INodeChangeSink
{
    /// <summary>Where changes are recorded; null to keep the state in memory only.</summary>
    public IStateJournal? Journal { get; set; }

    public void OnChange(in NodeChange change)
    {
        if (Journal is null || change.IsRemovedDescendant)
        {
            // A removed descendant is covered by the record of its subtree's removal.
            return;
        }
        if (change.Kind == ChangeKind.Removed)
        {
            Journal.NodeRemoved(change.Path);
        }
        else
        {
            Journal.NodeWritten(change.Path, change.Node.Value, change.Node.Perms);
        }
    }

    /// <summary>A domain's record changed: written as it now is, or removed when the table dropped it.</summary>
    public void DomainChanged(DomainTable domains, Domain domain)
    {
        if (Journal is null)
        {
            return;
        }
        if (domain.IsEmpty || !domains.Contains(domain.Domid))
        {
            Journal.DomainRemoved(domain.Domid);
            return;
        }
        Journal.DomainWritten(DomainTable.ToRecord(domain));
    }

    public void DomainRemoved(uint domid) => Journal?.DomainRemoved(domid);

    public void GlobalQuotaChanged(Quota quota, long value) => Journal?.GlobalQuotaWritten(quota, value);

    public void SpecialPermsChanged(string path, XsPermission[] perms) => Journal?.NodeWritten(path, [], perms);
}
