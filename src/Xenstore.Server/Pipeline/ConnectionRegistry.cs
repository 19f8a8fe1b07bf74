namespace Xenstore.Server.Pipeline;

/// <summary>The connections the engine knows, by id: where its output goes. Store thread only.</summary>
internal sealed class ConnectionRegistry
{
    private readonly Dictionary<int, IClientConnection> _connections = [];

    /// <summary>The connection last looked up: a batch's replies come in runs to one connection.</summary>
    private IClientConnection? _recent;

    public int Count => _connections.Count;

    public void Add(IClientConnection connection)
    {
        _connections[connection.Id] = connection;
        _recent = null;
    }

    public bool Remove(IClientConnection connection)
    {
        _recent = null;
        return _connections.Remove(connection.Id);
    }

    public bool TryGet(int id, out IClientConnection connection)
    {
        IClientConnection? recent = _recent;
        if (recent is not null && recent.Id == id)
        {
            connection = recent;
            return true;
        }
        if (_connections.TryGetValue(id, out connection!))
        {
            _recent = connection;
            return true;
        }
        return false;
    }

    /// <summary>The unprivileged connections of a domain (a released domain's, which the engine already forgot).</summary>
    public IClientConnection[] OfDomain(uint domid) =>
        _connections.Values.Where(c => c.Domid == domid && !c.Privileged).ToArray();
}
