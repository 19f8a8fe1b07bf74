using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Rings;
using Xenstore.Server.Transports.Sockets;

namespace Xenstore.Server.Accounting;

/// <summary>
/// The counters of every open connection, the sums of each domain's closed connections (so a domain's totals do
/// not fall when a connection goes) and the sums of released domains (so the daemon's totals never fall). Holds one
/// entry per open connection and per domain that still exists. Store thread only.
/// </summary>
internal sealed class AccountingTable(TimeProvider time)
{
    private readonly Dictionary<int, ConnectionCounters> _open = [];
    private readonly Dictionary<uint, ConnectionCounters> _closed = [];
    private ConnectionCounters? _recent;

    public TimeProvider Time => time;

    public IEnumerable<ConnectionCounters> Open => _open.Values;

    /// <summary>Per domain: the sums of its connections that closed.</summary>
    public IReadOnlyDictionary<uint, ConnectionCounters> ClosedByDomain => _closed;

    /// <summary>The sums of every released domain's connections.</summary>
    public ConnectionCounters Released { get; } = new(0, uint.MaxValue, "released");

    /// <summary>The whole second a timestamp of <see cref="Time"/> falls in.</summary>
    public long Second(long timestamp) => timestamp / time.TimestampFrequency;

    public void Opened(IClientConnection connection) =>
        _open[connection.Id] = new ConnectionCounters(connection.Id, connection.Domid, connection switch
        {
            RingSession => "ring",
            SocketConnection => "socket",
            _ => "memory",
        });

    /// <summary>The counters of an open connection (the last one asked for is remembered: requests come in runs).</summary>
    public ConnectionCounters? Find(int id)
    {
        ConnectionCounters? recent = _recent;
        if (recent is not null && recent.Id == id)
        {
            return recent;
        }
        if (_open.TryGetValue(id, out ConnectionCounters? counters))
        {
            _recent = counters;
            return counters;
        }
        return null;
    }

    public void Closed(int id)
    {
        if (!_open.Remove(id, out ConnectionCounters? counters))
        {
            return;
        }
        if (ReferenceEquals(_recent, counters))
        {
            _recent = null;
        }
        if (!_closed.TryGetValue(counters.Domid, out ConnectionCounters? sums))
        {
            sums = new ConnectionCounters(0, counters.Domid, "closed");
            _closed.Add(counters.Domid, sums);
        }
        sums.Add(counters);
    }

    /// <summary>A domain is gone (its connections closed first): its sums join the released domains'.</summary>
    public void DomainReleased(uint domid)
    {
        if (domid != 0 && _closed.Remove(domid, out ConnectionCounters? sums))
        {
            Released.Add(sums);
        }
    }
}
