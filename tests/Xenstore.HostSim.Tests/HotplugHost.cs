using Xenstore.Client;
using Xenstore.HostSim.Hotplug;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.HostSim.Tests;

/// <summary>
/// A daemon with a guest's device directories written as libxl writes them before it runs the hotplug script
/// (backend already in InitWait), and the process runner pointed at it.
/// </summary>
internal sealed class HotplugHost : IAsyncDisposable
{
    private readonly OurDaemon _daemon;
    private readonly string _work;

    private HotplugHost(OurDaemon daemon, XenstoreClient client, string work)
    {
        _daemon = daemon;
        Client = client;
        _work = work;
    }

    public XenstoreClient Client { get; }

    public string SocketPath => _daemon.SocketPath;

    public static async Task<HotplugHost> StartAsync()
    {
        OurDaemon daemon = await OurDaemon.StartAsync();
        XenstoreClient client = await XenstoreClient.ConnectAsync(daemon.SocketPath);
        return new HotplugHost(daemon, client, Directory.CreateTempSubdirectory("xs-hotplug-").FullName);
    }

    /// <summary>Our CLI's apphost, built with this project.</summary>
    public static string OurCli =>
        Environment.GetEnvironmentVariable("XENSTORE_CLI_UNDER_TEST") is { Length: > 0 } native ? native
            : Path.Combine(RepositoryPaths.Root, "src", "Xenstore.Cli", "bin", RepositoryPaths.Configuration, "net10.0", "xenstore");

    public static ProcessToolset Tools(string kind) => kind == "debian" ? ProcessToolset.Debian() : ProcessToolset.Ours(OurCli);

    /// <summary>A runner with Xen's scripts (<paramref name="xenScripts"/>) or the reproductions (null).</summary>
    public ProcessHotplugRunner Runner(string tools, string? xenScripts) =>
        new(new ProcessHotplugSettings(SocketPath, Tools(tools), Path.Combine(_work, tools + (xenScripts is null ? "-reproduced" : "-xen")),
            xenScripts, UseReproducedScripts: xenScripts is null));

    /// <summary>The guest's own directory and <c>vm</c>, as domain creation leaves them.</summary>
    public async Task CreateDomainAsync(int domid)
    {
        string home = $"/local/domain/{domid}";
        await Client.MkdirAsync(home);
        await Client.SetPermissionsAsync(home, [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, (uint)domid)]);
        await Client.WriteAsync(home + "/vm", $"/vm/00000000-0000-0000-0000-{domid:d12}");
        await Client.WriteAsync(home + "/name", $"guest{domid}");
    }

    /// <summary>vif <paramref name="devid"/> of <paramref name="domid"/>: libxl's frontend and backend keys.</summary>
    public async Task<HotplugInvocation> AddVifAsync(int domid, int devid)
    {
        string frontend = $"/local/domain/{domid}/device/vif/{devid}";
        string backend = $"/local/domain/0/backend/vif/{domid}/{devid}";
        string mac = $"00:16:3e:00:{domid & 0xff:x2}:{devid:x2}";
        await WriteDirectoryAsync(frontend, domid, new()
        {
            ["backend"] = backend, ["backend-id"] = "0", ["state"] = "1", ["handle"] = $"{devid}", ["mac"] = mac,
            ["trusted"] = "1",
        });
        await WriteDirectoryAsync(backend, 0, new()
        {
            ["frontend"] = frontend, ["frontend-id"] = $"{domid}", ["online"] = "1", ["state"] = "2",
            ["script"] = "/etc/xen/scripts/vif-bridge", ["mac"] = mac, ["bridge"] = "xenbr0", ["handle"] = $"{devid}",
            ["type"] = "vif", ["hotplug-status"] = "",
        }, readerDomid: domid);
        return new HotplugInvocation(HotplugDeviceKind.Vif, HotplugAction.Online, backend, domid, 0, devid);
    }

    /// <summary>A phy vbd of <paramref name="domid"/>; <paramref name="withParams"/> false leaves out <c>params</c>.</summary>
    public async Task<HotplugInvocation> AddVbdAsync(int domid, int devid, bool withParams = true)
    {
        string frontend = $"/local/domain/{domid}/device/vbd/{devid}";
        string backend = $"/local/domain/0/backend/vbd/{domid}/{devid}";
        await WriteDirectoryAsync(frontend, domid, new()
        {
            ["backend"] = backend, ["backend-id"] = "0", ["state"] = "1", ["virtual-device"] = $"{devid}",
            ["device-type"] = "disk", ["trusted"] = "1",
        });
        var keys = new Dictionary<string, string>
        {
            ["frontend"] = frontend, ["frontend-id"] = $"{domid}", ["online"] = "1", ["removable"] = "0",
            ["bootable"] = "1", ["state"] = "2", ["dev"] = "xvda", ["type"] = "phy", ["mode"] = "w",
            ["device-type"] = "disk", ["script"] = "/etc/xen/scripts/block", ["discard-enable"] = "1",
        };
        if (withParams)
        {
            keys["params"] = SimulatedDisk.NodePath(domid, devid);
        }

        await WriteDirectoryAsync(backend, 0, keys, readerDomid: domid);
        return new HotplugInvocation(HotplugDeviceKind.Vbd, HotplugAction.Add, backend, domid, 0, devid);
    }

    public async Task<string?> ReadAsync(string path) =>
        await Client.TryReadAsync(path) is { } value ? System.Text.Encoding.UTF8.GetString(value) : null;

    private async Task WriteDirectoryAsync(string directory, int owner, Dictionary<string, string> keys, int? readerDomid = null)
    {
        await Client.MkdirAsync(directory);
        XsPermission[] permissions = readerDomid is { } reader
            ? [new XsPermission(XsAccess.None, (uint)owner), new XsPermission(XsAccess.Read, (uint)reader)]
            : [new XsPermission(XsAccess.None, (uint)owner), new XsPermission(XsAccess.Read, 0)];
        await Client.SetPermissionsAsync(directory, permissions);
        foreach ((string key, string value) in keys)
        {
            await Client.WriteAsync($"{directory}/{key}", value);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await _daemon.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }
}
