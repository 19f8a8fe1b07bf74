namespace Xenstore.Store.Domains;

/// <summary>What the engine counts per domain, against the quota of the same name.</summary>
internal enum Accounted
{
    Nodes,
    Watches,
    Transactions,
}
