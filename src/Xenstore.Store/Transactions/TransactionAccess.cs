namespace Xenstore.Store.Transactions;

/// <summary>The snapshot state of one node a transaction accessed.</summary>
/// <param name="Existed">Whether the node existed in the snapshot.</param>
/// <param name="Generation">Its generation there (0 when missing).</param>
/// <param name="Listed">Whether the transaction listed its children (their list must not change until commit).</param>
/// <param name="ChildrenGeneration">The generation of its child list there.</param>
/// <param name="Order">How many nodes the transaction had accessed before this one: a commit's events follow it.</param>
internal readonly record struct TransactionAccess(bool Existed, long Generation, bool Listed, long ChildrenGeneration, int Order);
