using Xenstore.Protocol;

namespace Xenstore.Store.Transactions;

/// <summary>One change made inside a transaction, replayed on the live tree at commit.</summary>
internal abstract record TransactionEffect(string Path);

internal sealed record WriteEffect(string Path, byte[] Value) : TransactionEffect(Path);

internal sealed record MkdirEffect(string Path) : TransactionEffect(Path);

internal sealed record RemoveEffect(string Path) : TransactionEffect(Path);

internal sealed record SetPermsEffect(string Path, XsPermission[] Perms) : TransactionEffect(Path);
