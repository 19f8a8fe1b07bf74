using Xenstore.Protocol;

namespace Xenstore.Store.Transactions;

/// <summary>One change made inside a transaction, replayed on the live tree at commit.</summary>
internal abstract record TransactionEffect(string Path)
{
    /// <summary>What the change keeps in memory until the transaction ends (paths counted as one byte a character).</summary>
    public virtual long HeldBytes => Path.Length;
}

internal sealed record WriteEffect(string Path, byte[] Value) : TransactionEffect(Path)
{
    public override long HeldBytes => Path.Length + Value.Length;
}

internal sealed record MkdirEffect(string Path) : TransactionEffect(Path);

internal sealed record RemoveEffect(string Path) : TransactionEffect(Path);

internal sealed record SetPermsEffect(string Path, XsPermission[] Perms) : TransactionEffect(Path)
{
    public override long HeldBytes => Path.Length + (Perms.Length * 8L);
}
