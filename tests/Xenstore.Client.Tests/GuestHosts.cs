using System.Collections.Concurrent;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

/// <summary>
/// A daemon serving guest rings (ours with --sim-dir, or a reference C xenstored with REFXS_RINGS=1), shared by the tests
/// of a class; each test introduces a domain of its own.
/// </summary>
public sealed class GuestHost : IAsyncDisposable
{
    private static int s_nextDomid = 10;

    public required IDaemonUnderTest Daemon { get; init; }

    public required string RingDirectory { get; init; }

    public required XenstoreClient Dom0 { get; init; }

    public static async Task<GuestHost> StartAsync(string kind)
    {
        IDaemonUnderTest daemon;
        string directory;
        if (kind == "ours")
        {
            directory = Directory.CreateTempSubdirectory("xs-sim-").FullName;
            daemon = await OurDaemon.StartAsync("--sim-dir", directory);
        }
        else
        {
            var reference = await ReferenceDaemon.StartOrSkipAsync(kind, rings: true);
            daemon = reference;
            directory = Path.Combine(reference.Home, "rings");
        }
        return new GuestHost
        {
            Daemon = daemon,
            RingDirectory = directory,
            Dom0 = await XenstoreClient.ConnectAsync(new XenstoreClientOptions
            {
                Path = daemon.SocketPath,
                RequestTimeout = TimeSpan.FromSeconds(10),
            }),
        };
    }

    /// <summary>
    /// What a toolstack does for a new domain: a home readable by the guest with its name, a guest-owned
    /// <c>data</c> directory, then INTRODUCE (which makes the daemon map <c>DIR/ring.N</c>).
    /// </summary>
    public async Task<uint> CreateDomainAsync()
    {
        uint domid = (uint)Interlocked.Increment(ref s_nextDomid);
        string home = $"/local/domain/{domid}";
        await Dom0.WriteAsync(home + "/name", $"guest{domid}");
        await Dom0.SetPermissionsAsync(home, [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, domid)]);
        await Dom0.SetPermissionsAsync(home + "/name", [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, domid)]);
        await Dom0.MkdirAsync(home + "/data");
        await Dom0.SetPermissionsAsync(home + "/data", [new XsPermission(XsAccess.None, domid)]);
        await Dom0.IntroduceDomainAsync(domid, 0, 7);
        return domid;
    }

    public Task<XenstoreClient> ConnectGuestAsync(uint domid, XenstoreClientOptions? options = null) =>
        XenstoreClient.ConnectSimulatedGuestAsync(RingDirectory, domid,
            options ?? new XenstoreClientOptions { RequestTimeout = TimeSpan.FromSeconds(10) });

    public async ValueTask DisposeAsync()
    {
        await Dom0.DisposeAsync();
        await Daemon.DisposeAsync();
    }
}

/// <summary>One <see cref="GuestHost"/> per daemon kind, started on first use and stopped with the test class.</summary>
public sealed class GuestHosts : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<GuestHost>>> _hosts = new();

    public Task<GuestHost> GetAsync(string kind) =>
        _hosts.GetOrAdd(kind, k => new Lazy<Task<GuestHost>>(() => GuestHost.StartAsync(k))).Value;

    public async ValueTask DisposeAsync()
    {
        foreach (Lazy<Task<GuestHost>> host in _hosts.Values)
        {
            if (host.IsValueCreated && host.Value.IsCompletedSuccessfully)
            {
                await host.Value.Result.DisposeAsync();
            }
        }
    }
}
