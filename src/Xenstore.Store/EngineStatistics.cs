namespace Xenstore.Store;

/// <summary>The engine's counters at one moment, for metrics.</summary>
/// <param name="Nodes">Nodes in the live tree, the root included.</param>
/// <param name="Generation">Generation of the last change to the live tree.</param>
/// <param name="Watches">Registered watches, over all connections.</param>
/// <param name="OpenTransactions">Open transactions, over all connections.</param>
/// <param name="TransactionsCommitted">Transactions committed since start.</param>
/// <param name="TransactionsAborted">Transactions aborted by their client (or refused at commit for a quota) since start.</param>
/// <param name="TransactionsConflicted">Commits answered EAGAIN since start.</param>
public readonly record struct EngineStatistics(
    int Nodes,
    long Generation,
    int Watches,
    int OpenTransactions,
    long TransactionsCommitted,
    long TransactionsAborted,
    long TransactionsConflicted);
