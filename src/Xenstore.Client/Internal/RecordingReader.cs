using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>Reads through the client and remembers every path asked for, so a wait can watch its read set.</summary>
internal sealed class RecordingReader(XenstoreClient client) : IXenstoreReader
{
    private readonly List<string> _paths = [];

    public IReadOnlyList<string> Paths
    {
        get
        {
            lock (_paths)
            {
                return [.. _paths];
            }
        }
    }

    private void Record(string path)
    {
        lock (_paths)
        {
            _paths.Add(path);
        }
    }

    public Task<byte[]> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        Record(path);
        return client.ReadAsync(path, cancellationToken);
    }

    public Task<string> ReadStringAsync(string path, CancellationToken cancellationToken = default)
    {
        Record(path);
        return client.ReadStringAsync(path, cancellationToken);
    }

    public Task<byte[]?> TryReadAsync(string path, CancellationToken cancellationToken = default)
    {
        Record(path);
        return client.TryReadAsync(path, cancellationToken);
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        Record(path);
        return client.ExistsAsync(path, cancellationToken);
    }

    public Task<string[]> ListAsync(string path, CancellationToken cancellationToken = default)
    {
        Record(path);
        return client.ListAsync(path, cancellationToken);
    }

    public Task<XsPermission[]> GetPermissionsAsync(string path, CancellationToken cancellationToken = default)
    {
        Record(path);
        return client.GetPermissionsAsync(path, cancellationToken);
    }
}
