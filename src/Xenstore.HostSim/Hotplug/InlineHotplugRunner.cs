using System.Diagnostics;
using System.Globalization;
using Xenstore.Client;

namespace Xenstore.HostSim.Hotplug;

/// <summary>
/// Makes exactly the Xenstore requests Xen's <c>vif-bridge</c> and <c>block</c> scripts make, from inside the
/// simulator, so that Xenstore alone is measured: in dom0 on a fresh socket connection per script run (a process
/// runs the script), in a driver domain over that domain's ring (its scripts reach Xenstore through its kernel).
/// Block scripts hold one lock per backend domain, as the real script's global <c>flock</c>.
/// </summary>
internal sealed class InlineHotplugRunner : IHotplugRunner
{
    private readonly HostSimOptions _options;
    private readonly Func<int, XenstoreClient?> _backendDomainConnection;
    private readonly Dictionary<int, SemaphoreSlim> _blockLocks = [];

    /// <param name="options">The run's options (the socket, the script timeout).</param>
    /// <param name="backendDomainConnection">
    /// The connection a script in backend domain N uses, or null for a fresh socket connection (dom0).
    /// </param>
    public InlineHotplugRunner(HostSimOptions options, Func<int, XenstoreClient?>? backendDomainConnection = null)
    {
        _options = options;
        _backendDomainConnection = backendDomainConnection ?? (_ => null);
    }

    public async Task<HotplugResult> RunAsync(HotplugInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var stopwatch = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HotplugTimeout);
        SemaphoreSlim? blockLock = invocation.Kind == HotplugDeviceKind.Vbd ? BlockLock(invocation.BackendDomid) : null;
        var script = new ScriptRequests(invocation);
        try
        {
            if (blockLock is not null)
            {
                await blockLock.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            try
            {
                XenstoreClient? shared = _backendDomainConnection(invocation.BackendDomid);
                XenstoreClient client = shared ?? await XenstoreClient.ConnectAsync(new XenstoreClientOptions
                {
                    Path = _options.SocketPath,
                    RequestTimeout = _options.HotplugTimeout,
                }, timeout.Token).ConfigureAwait(false);
                try
                {
                    await script.RunAsync(client, timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    if (shared is null)
                    {
                        await client.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                blockLock?.Release();
            }
            return new HotplugResult(true, script.Requests, 0, stopwatch.Elapsed, null);
        }
        catch (Exception e) when (e is XenstoreException or OperationCanceledException)
        {
            string error = e is OperationCanceledException && !cancellationToken.IsCancellationRequested
                ? $"script timed out after {_options.HotplugTimeout.TotalSeconds:0} s" : e.Message;
            return new HotplugResult(false, script.Requests, 0, stopwatch.Elapsed, error);
        }
    }

    private SemaphoreSlim BlockLock(int backendDomid)
    {
        lock (_blockLocks)
        {
            if (!_blockLocks.TryGetValue(backendDomid, out SemaphoreSlim? gate))
            {
                gate = new SemaphoreSlim(1, 1);
                _blockLocks[backendDomid] = gate;
            }
            return gate;
        }
    }

    /// <summary>One script run's requests, counted.</summary>
    private sealed class ScriptRequests(HotplugInvocation invocation)
    {
        private int _requests;

        public int Requests => _requests;

        private string Backend => invocation.BackendPath;

        public Task RunAsync(XenstoreClient client, CancellationToken cancellationToken) => (invocation.Kind, invocation.Action) switch
        {
            (HotplugDeviceKind.Vif, HotplugAction.Online) => VifOnlineAsync(client, cancellationToken),
            (HotplugDeviceKind.Vif, HotplugAction.Offline) => VifOfflineAsync(client, cancellationToken),
            (HotplugDeviceKind.Vbd, HotplugAction.Add) => BlockAddAsync(client, cancellationToken),
            (HotplugDeviceKind.Vbd, HotplugAction.Remove) => BlockRemoveAsync(client, cancellationToken),
            _ => throw new XenstoreProtocolException($"no {invocation.Action} action for a {invocation.Kind}"),
        };

        /// <summary>
        /// <c>vif-bridge online</c>: reads <c>vifname</c>, <c>ip</c>, <c>bridge</c>, <c>mtu</c>, writes the frontend's
        /// <c>mtu</c> and <c>hotplug-status</c> (6 CLI calls in the real script).
        /// </summary>
        private async Task VifOnlineAsync(XenstoreClient client, CancellationToken cancellationToken)
        {
            await ReadOptionalAsync(client, Backend + "/vifname", cancellationToken).ConfigureAwait(false);
            await ReadOptionalAsync(client, Backend + "/ip", cancellationToken).ConfigureAwait(false);
            await ReadAsync(client, Backend + "/bridge", cancellationToken).ConfigureAwait(false);
            string? mtu = await ReadOptionalAsync(client, Backend + "/mtu", cancellationToken).ConfigureAwait(false);
            string frontend = $"/local/domain/{invocation.FrontendDomid}/device/vif/{invocation.DeviceId}";
            await WriteAsync(client, frontend + "/mtu", string.IsNullOrEmpty(mtu) ? "1500" : mtu, cancellationToken).ConfigureAwait(false);
            await WriteAsync(client, Backend + "/hotplug-status", "connected", cancellationToken).ConfigureAwait(false);
        }

        /// <summary><c>vif-bridge offline</c>: reads <c>vifname</c>, <c>ip</c>, <c>bridge</c>.</summary>
        private async Task VifOfflineAsync(XenstoreClient client, CancellationToken cancellationToken)
        {
            await ReadOptionalAsync(client, Backend + "/vifname", cancellationToken).ConfigureAwait(false);
            await ReadOptionalAsync(client, Backend + "/ip", cancellationToken).ConfigureAwait(false);
            await ReadOptionalAsync(client, Backend + "/bridge", cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// <c>block add</c> for <c>phy</c>: reads the device's keys and the guest's <c>vm</c>, scans every other vbd
        /// backend of this backend domain for the same physical device (the sharing check), then writes
        /// <c>physical-device</c>, <c>physical-device-path</c> and <c>hotplug-status</c>.
        /// </summary>
        private async Task BlockAddAsync(XenstoreClient client, CancellationToken cancellationToken)
        {
            await ReadAsync(client, Backend + "/type", cancellationToken).ConfigureAwait(false);
            string parameters = await ReadAsync(client, Backend + "/params", cancellationToken).ConfigureAwait(false);
            await ReadAsync(client, Backend + "/mode", cancellationToken).ConfigureAwait(false);
            await ReadOptionalAsync(client, Backend + "/physical-device", cancellationToken).ConfigureAwait(false);
            string frontendId = await ReadAsync(client, Backend + "/frontend-id", cancellationToken).ConfigureAwait(false);
            await ReadOptionalAsync(client, $"/local/domain/{frontendId}/vm", cancellationToken).ConfigureAwait(false);
            string device = PhysicalDevice(invocation.FrontendDomid, invocation.DeviceId);
            string vbds = $"/local/domain/{invocation.BackendDomid}/backend/vbd";
            foreach (string domain in await ListOptionalAsync(client, vbds, cancellationToken).ConfigureAwait(false))
            {
                foreach (string devid in await ListOptionalAsync(client, $"{vbds}/{domain}", cancellationToken).ConfigureAwait(false))
                {
                    string path = $"{vbds}/{domain}/{devid}";
                    if (path == Backend)
                    {
                        continue;
                    }
                    string? other = await ReadOptionalAsync(client, path + "/physical-device", cancellationToken).ConfigureAwait(false);
                    if (other == device)
                    {
                        throw new XenstoreProtocolException($"{parameters} is already in use by {path}");
                    }
                }
            }
            await WriteAsync(client, Backend + "/physical-device", device, cancellationToken).ConfigureAwait(false);
            await WriteAsync(client, Backend + "/physical-device-path", parameters, cancellationToken).ConfigureAwait(false);
            await WriteAsync(client, Backend + "/hotplug-status", "connected", cancellationToken).ConfigureAwait(false);
        }

        /// <summary><c>block remove</c> for <c>phy</c>: reads <c>type</c> and <c>params</c>; nothing to release.</summary>
        private async Task BlockRemoveAsync(XenstoreClient client, CancellationToken cancellationToken)
        {
            await ReadOptionalAsync(client, Backend + "/type", cancellationToken).ConfigureAwait(false);
            await ReadOptionalAsync(client, Backend + "/params", cancellationToken).ConfigureAwait(false);
        }

        /// <summary>A loop device's <c>major:minor</c> in hex, as the script writes it, distinct per disk.</summary>
        private static string PhysicalDevice(int frontendDomid, int deviceId) =>
            string.Create(CultureInfo.InvariantCulture, $"7:{(frontendDomid * 64) + (deviceId % 64):x}");

        private async Task<string> ReadAsync(XenstoreClient client, string path, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            return await client.ReadStringAsync(path, cancellationToken).ConfigureAwait(false);
        }

        private async Task<string?> ReadOptionalAsync(XenstoreClient client, string path, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            byte[]? value = await client.TryReadAsync(path, cancellationToken).ConfigureAwait(false);
            return value is null ? null : System.Text.Encoding.UTF8.GetString(value);
        }

        private async Task<string[]> ListOptionalAsync(XenstoreClient client, string path, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            try
            {
                return await client.ListAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (XenstoreNotFoundException)
            {
                return [];
            }
        }

        private async Task WriteAsync(XenstoreClient client, string path, string value, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            await client.WriteAsync(path, value, cancellationToken).ConfigureAwait(false);
        }
    }
}
