namespace Xenstore.Store.Transactions;

/// <summary>The snapshot state of one node a transaction accessed.</summary>
internal readonly record struct TransactionAccess(bool Existed, long Generation, bool Listed, long ChildrenGeneration);
