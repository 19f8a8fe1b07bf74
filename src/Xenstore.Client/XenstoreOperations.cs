using System.Text;
using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Client;

/// <summary>
/// The node operations, shared by <see cref="XenstoreClient"/> (outside any transaction) and
/// <see cref="XenstoreTransaction"/> (inside one). Every method validates its path and payload before sending.
/// </summary>
public abstract class XenstoreOperations : IXenstoreReader
{
    private protected XenstoreOperations()
    {
    }

    /// <summary>The transaction id these operations carry in the header (0 outside a transaction).</summary>
    public abstract uint TransactionId { get; }

    private protected abstract Task<Reply> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken);

    /// <summary>Sends a request and returns the reply payload; an ERROR reply becomes a typed exception.</summary>
    private protected async Task<byte[]> CallAsync(XsMessageType type, byte[] payload, string operation, string? path,
        CancellationToken cancellationToken)
    {
        Reply reply = await SendAsync(type, payload, cancellationToken).ConfigureAwait(false);
        if (reply.Type == XsMessageType.Error)
        {
            throw XenstoreErrorException.Create(XsErrors.Parse(reply.Payload), operation, path);
        }
        if (reply.Type != type)
        {
            throw new XenstoreProtocolException($"{operation}: the daemon answered {type} with {reply.Type}");
        }
        return reply.Payload;
    }

    /// <inheritdoc />
    public virtual async Task<byte[]> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        Payload.ValidatePath(path, allowSpecial: false, "read");
        return await CallAsync(XsMessageType.Read, Payload.Strings("read", path), "read", path, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<string> ReadStringAsync(string path, CancellationToken cancellationToken = default) =>
        Encoding.UTF8.GetString(await ReadAsync(path, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async Task<byte[]?> TryReadAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            await ReadAsync(path, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (XenstoreErrorException e) when (e.Error is XsError.ENOENT or XsError.EACCES)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public virtual async Task<string[]> ListAsync(string path, CancellationToken cancellationToken = default)
    {
        Payload.ValidatePath(path, allowSpecial: false, "list");
        try
        {
            byte[] reply = await CallAsync(XsMessageType.Directory, Payload.Strings("list", path), "list", path,
                cancellationToken).ConfigureAwait(false);
            return Payload.SplitStrings(reply);
        }
        catch (XenstoreErrorException e) when (e.Error == XsError.E2BIG && !e.IsLocal)
        {
            return await DirectoryPartsAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// DIRECTORY_PART, as libxenstore does after E2BIG: fetch the list from increasing offsets and start over if
    /// the generation changes between parts (the directory changed under us).
    /// </summary>
    private async Task<string[]> DirectoryPartsAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            var names = new List<string>();
            string? generation = null;
            int offset = 0;
            bool restart = false;
            while (true)
            {
                byte[] reply = await CallAsync(XsMessageType.DirectoryPart,
                    Payload.Strings("list", path, offset.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    "list", path, cancellationToken).ConfigureAwait(false);
                int nul = Array.IndexOf(reply, (byte)0);
                if (nul < 0)
                {
                    throw new XenstoreProtocolException("DIRECTORY_PART reply without a generation");
                }
                string thisGeneration = Encoding.ASCII.GetString(reply, 0, nul);
                if (generation is not null && generation != thisGeneration)
                {
                    restart = true;
                    break;
                }
                generation = thisGeneration;
                ReadOnlySpan<byte> rest = reply.AsSpan(nul + 1);
                // The last part ends with an empty string, i.e. two NULs in a row (or is empty).
                bool last = rest.Length == 0 || rest[0] == 0 || (rest.Length >= 2 && rest[^1] == 0 && rest[^2] == 0);
                foreach (string name in Payload.SplitStrings(rest))
                {
                    if (name.Length > 0)
                    {
                        names.Add(name);
                        offset += Encoding.UTF8.GetByteCount(name) + 1;
                    }
                }
                if (last)
                {
                    break;
                }
            }
            if (!restart)
            {
                return [.. names];
            }
        }
    }

    /// <inheritdoc />
    public virtual async Task<XsPermission[]> GetPermissionsAsync(string path, CancellationToken cancellationToken = default)
    {
        Payload.ValidatePath(path, allowSpecial: true, "get permissions");
        byte[] reply = await CallAsync(XsMessageType.GetPerms, Payload.Strings("get permissions", path),
            "get permissions", path, cancellationToken).ConfigureAwait(false);
        string[] entries = Payload.SplitStrings(reply);
        var permissions = new XsPermission[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            if (!PermissionText.TryParse(entries[i], out permissions[i]))
            {
                throw new XenstoreProtocolException($"get permissions {path}: malformed entry '{entries[i]}'");
            }
        }
        return permissions;
    }

    /// <summary>Writes a node's value, creating it and any missing parents.</summary>
    public async Task WriteAsync(string path, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        Payload.ValidatePath(path, allowSpecial: false, "write");
        await CallAsync(XsMessageType.Write, Payload.PathAndValue(path, value.Span), "write", path, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Writes a node's value as UTF-8 text.</summary>
    public Task WriteAsync(string path, string value, CancellationToken cancellationToken = default) =>
        WriteAsync(path, Encoding.UTF8.GetBytes(value), cancellationToken);

    /// <summary>Creates a node with an empty value unless it exists.</summary>
    public async Task MkdirAsync(string path, CancellationToken cancellationToken = default)
    {
        Payload.ValidatePath(path, allowSpecial: false, "mkdir");
        await CallAsync(XsMessageType.Mkdir, Payload.Strings("mkdir", path), "mkdir", path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a node and its subtree. A missing node is success; a missing parent is ENOENT.</summary>
    public async Task RemoveAsync(string path, CancellationToken cancellationToken = default)
    {
        Payload.ValidatePath(path, allowSpecial: false, "rm");
        await CallAsync(XsMessageType.Rm, Payload.Strings("rm", path), "rm", path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces a node's permissions; the first entry names the owner and the default access.</summary>
    public async Task SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions,
        CancellationToken cancellationToken = default)
    {
        Payload.ValidatePath(path, allowSpecial: true, "set permissions");
        var parts = new string[permissions.Count + 1];
        parts[0] = path;
        for (int i = 0; i < permissions.Count; i++)
        {
            parts[i + 1] = PermissionText.Format(permissions[i]);
        }
        await CallAsync(XsMessageType.SetPerms, Payload.Strings("set permissions", parts), "set permissions", path,
            cancellationToken).ConfigureAwait(false);
    }
}
