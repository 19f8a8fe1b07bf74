namespace Xenstore.Store.Persistence;

/// <summary>
/// The watches and open transactions of ring connections as recovery found them, by domain, until each domain's
/// ring is served again and its connection takes them over. Until then they are part of the persistent state
/// (a snapshot written meanwhile keeps them).
/// </summary>
internal sealed class RecoveredRings
{
    private readonly SortedDictionary<uint, RingConnectionState> _byDomid = [];

    public IEnumerable<RingConnectionState> All => _byDomid.Values;

    public RingConnectionState GetOrAdd(uint domid)
    {
        if (!_byDomid.TryGetValue(domid, out RingConnectionState? state))
        {
            state = new RingConnectionState(domid);
            _byDomid.Add(domid, state);
        }
        return state;
    }

    /// <summary>Applies a change to a domain's recovered state, if it has one, and forgets a state left empty.</summary>
    public void Update(uint domid, Action<RingConnectionState> change)
    {
        if (_byDomid.TryGetValue(domid, out RingConnectionState? state))
        {
            change(state);
            if (state.IsEmpty)
            {
                _byDomid.Remove(domid);
            }
        }
    }

    public bool TryTake(uint domid, out RingConnectionState state) => _byDomid.Remove(domid, out state!);

    public bool Remove(uint domid) => _byDomid.Remove(domid);
}
