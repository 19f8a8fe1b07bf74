using System.Collections.Concurrent;

namespace Xenstore.Server.Transports.Sockets;

/// <summary>The socket connections open now, for a live update to hand over. Any thread may read it.</summary>
internal sealed class OpenSockets
{
    private readonly ConcurrentDictionary<int, SocketConnection> _connections = new();

    public void Add(SocketConnection connection) => _connections[connection.Id] = connection;

    public void Remove(SocketConnection connection) => _connections.TryRemove(connection.Id, out _);

    public IEnumerable<SocketConnection> All => _connections.Values;
}
