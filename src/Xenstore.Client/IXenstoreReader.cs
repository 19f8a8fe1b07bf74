using Xenstore.Protocol;

namespace Xenstore.Client;

/// <summary>The read side of Xenstore: what a condition passed to <see cref="XenstoreClient.WaitUntilAsync"/> may use.</summary>
public interface IXenstoreReader
{
    /// <summary>Reads a node's value. Throws <see cref="XenstoreNotFoundException"/> when it does not exist.</summary>
    Task<byte[]> ReadAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Reads a node's value as UTF-8 text.</summary>
    Task<string> ReadStringAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Reads a node's value, or returns null when the node does not exist.</summary>
    Task<byte[]?> TryReadAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>True when the node exists (and is readable).</summary>
    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The names of a node's children, in the daemon's order. Large directories are fetched in parts.</summary>
    Task<string[]> ListAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>A node's permissions; the first entry is the owner and the default access.</summary>
    Task<XsPermission[]> GetPermissionsAsync(string path, CancellationToken cancellationToken = default);
}
