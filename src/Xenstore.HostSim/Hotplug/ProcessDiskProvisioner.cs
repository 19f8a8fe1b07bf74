using System.Text;
using Xenstore.Client;

namespace Xenstore.HostSim.Hotplug;

/// <summary>
/// Finds the block device a vbd's <c>params</c> names, so that the launcher can create its node before <c>block</c>
/// runs: a real host has the disk already. The read goes over one connection the runner keeps (not a process, and
/// not counted as the script's), reopened once if the daemon went away in between (a restart fault).
/// </summary>
internal sealed class ProcessDiskProvisioner(string socketPath) : IAsyncDisposable
{
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private XenstoreClient? _client;

    /// <summary>
    /// The node path: <c>params</c>, under /dev when relative as the script's <c>expand_dev</c> makes it; null when
    /// the backend has no <c>params</c>, which the script must then report itself.
    /// </summary>
    public async Task<string?> NodeAsync(HotplugInvocation invocation, CancellationToken cancellationToken)
    {
        string path = invocation.BackendPath + "/params";
        byte[]? value;
        try
        {
            value = await (await ClientAsync(fresh: false, cancellationToken).ConfigureAwait(false))
                .TryReadAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreException)
        {
            value = await (await ClientAsync(fresh: true, cancellationToken).ConfigureAwait(false))
                .TryReadAsync(path, cancellationToken).ConfigureAwait(false);
        }

        if (value is null || value.Length == 0)
        {
            return null;
        }

        string parameters = Encoding.UTF8.GetString(value);
        return parameters.StartsWith('/') ? parameters : "/dev/" + parameters;
    }

    private async Task<XenstoreClient> ClientAsync(bool fresh, CancellationToken cancellationToken)
    {
        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (fresh && _client is not null)
            {
                await _client.DisposeAsync().ConfigureAwait(false);
                _client = null;
            }

            return _client ??= await XenstoreClient.ConnectAsync(socketPath, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _connecting.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }

        _connecting.Dispose();
    }
}
