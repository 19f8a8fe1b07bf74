namespace Xenstore.Server.Pipeline;

/// <summary>The connections the engine knows, by id: where its output goes. Store thread only.</summary>
internal sealed class ConnectionRegistry
{
    private readonly Dictionary<int, IClientConnection> _connections = [];

    public int Count => _connections.Count;

    public void Add(IClientConnection connection) => _connections[connection.Id] = connection;

    public bool Remove(IClientConnection connection) => _connections.Remove(connection.Id);

    public bool TryGet(int id, out IClientConnection connection) => _connections.TryGetValue(id, out connection!);

    /// <summary>The unprivileged connections of a domain (a released domain's, which the engine already forgot).</summary>
    public IClientConnection[] OfDomain(uint domid) =>
        _connections.Values.Where(c => c.Domid == domid && !c.Privileged).ToArray();
}
