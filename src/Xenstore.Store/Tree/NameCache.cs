namespace Xenstore.Store.Tree;

/// <summary>
/// Shares the strings of node names that recur (<c>state</c>, <c>backend</c>, device and domain numbers): a
/// fixed-size table indexed by the name's hash, where a new name simply takes its slot. It never grows, so names a
/// guest invents cost it nothing once they are gone; a name that is not found is allocated as before.
/// </summary>
internal sealed class NameCache
{
    private const int Slots = 8192;

    private string?[]? _slots;

    public string Get(ReadOnlySpan<char> name)
    {
        _slots ??= new string?[Slots];
        ref string? slot = ref _slots[string.GetHashCode(name) & (Slots - 1)];
        if (slot is not null && name.SequenceEqual(slot))
        {
            return slot;
        }
        string created = name.ToString();
        slot = created;
        return created;
    }
}
