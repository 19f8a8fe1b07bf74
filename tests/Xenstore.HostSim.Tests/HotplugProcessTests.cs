using Xenstore.HostSim.Hotplug;
using Xenstore.TestKit;

namespace Xenstore.HostSim.Tests;

/// <summary>
/// The process runner against our daemon: Xen's own vif-bridge and block (from Debian's xen-utils-common, which
/// ../shared/refxs extracts; skipped without it) and the reproductions, each with Debian's tools and with ours.
/// </summary>
public sealed class HotplugProcessTests
{
    public static TheoryData<string, string> ScriptsAndTools => new()
    {
        { "xen", "debian" }, { "xen", "ours" }, { "reproduced", "debian" }, { "reproduced", "ours" },
    };

    private static async Task<string?> ScriptsAsync(string scripts) => scripts == "xen"
        ? Path.Combine(await ReferenceDaemon.XenPackagesRootOrSkipAsync(), "etc", "xen", "scripts")
        : null;

    private static void RequireTools(string tools)
    {
        if (tools == "debian" && !File.Exists(ProcessToolset.DebianExecutable))
        {
            Assert.Skip("Debian's xenstore-utils is not installed");
        }
    }

    [Theory]
    [MemberData(nameof(ScriptsAndTools))]
    public async Task Vif_online_connects_and_writes_the_frontend_mtu(string scripts, string tools)
    {
        RequireTools(tools);
        string? xen = await ScriptsAsync(scripts);
        await using HotplugHost host = await HotplugHost.StartAsync();
        await host.CreateDomainAsync(5);
        HotplugInvocation vif = await host.AddVifAsync(5, 0);

        ProcessHotplugRunner runner = host.Runner(tools, xen);
        HotplugResult result = await runner.RunAsync(vif, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal("connected", await host.ReadAsync(vif.BackendPath + "/hotplug-status"));
        Assert.Equal("1500", await host.ReadAsync("/local/domain/5/device/vif/0/mtu"));
        Assert.Null(await host.ReadAsync(vif.BackendPath + "/hotplug-error"));
        if ((await runner.StageAsync()).CountsProcesses)
        {
            // The script's shell and its six xenstore calls at the least (4 reads, 2 writes).
            Assert.InRange(result.Processes, 7, 200);
        }
    }

    [Theory]
    [MemberData(nameof(ScriptsAndTools))]
    public async Task Block_add_writes_the_physical_device_and_scans_every_other_disk(string scripts, string tools)
    {
        RequireTools(tools);
        string? xen = await ScriptsAsync(scripts);
        await using HotplugHost host = await HotplugHost.StartAsync();
        ProcessHotplugRunner runner = host.Runner(tools, xen);
        var results = new List<HotplugResult>();
        foreach (int domid in new[] { 3, 4, 5 })
        {
            await host.CreateDomainAsync(domid);
            HotplugInvocation vbd = await host.AddVbdAsync(domid, 51712);
            HotplugResult result = await runner.RunAsync(vbd, CancellationToken.None);
            Assert.True(result.Succeeded, result.Error);
            Assert.Equal("connected", await host.ReadAsync(vbd.BackendPath + "/hotplug-status"));
            Assert.Equal(SimulatedDisk.PhysicalDevice(domid, 51712), await host.ReadAsync(vbd.BackendPath + "/physical-device"));
            Assert.Equal(SimulatedDisk.NodePath(domid, 51712), await host.ReadAsync(vbd.BackendPath + "/physical-device-path"));
            results.Add(result);
        }

        if ((await runner.StageAsync()).CountsProcesses)
        {
            // Six reads, the scan's two lists and one read, three writes, and the shell: 13 at the least for the
            // first disk; each disk already attached adds a list (its domain) and a read (its physical-device).
            Assert.InRange(results[0].Processes, 13, 400);
            Assert.True(results[1].Processes > results[0].Processes, $"{results[1].Processes} after {results[0].Processes}");
            Assert.True(results[2].Processes > results[1].Processes, $"{results[2].Processes} after {results[1].Processes}");
        }
    }

    [Theory]
    [InlineData("xen")]
    [InlineData("reproduced")]
    public async Task Processes_are_counted_alike_for_either_tool_set(string scripts)
    {
        // Our CLI's runtime starts threads, which take process ids too; they must not count as processes.
        RequireTools("debian");
        string? xen = await ScriptsAsync(scripts);
        await using HotplugHost host = await HotplugHost.StartAsync();
        ProcessHotplugRunner debian = host.Runner("debian", xen);
        ProcessHotplugRunner ours = host.Runner("ours", xen);
        if (!(await debian.StageAsync()).CountsProcesses)
        {
            Assert.Skip("process-id namespaces are not available (unshare --pid needs root)");
        }

        await host.CreateDomainAsync(8);
        await host.CreateDomainAsync(9);
        HotplugResult withDebian = await debian.RunAsync(await host.AddVifAsync(8, 0), CancellationToken.None);
        HotplugResult withOurs = await ours.RunAsync(await host.AddVifAsync(9, 0), CancellationToken.None);

        Assert.True(withDebian.Succeeded, withDebian.Error);
        Assert.True(withOurs.Succeeded, withOurs.Error);
        Assert.Equal(withDebian.Processes, withOurs.Processes);
    }

    [Theory]
    [MemberData(nameof(ScriptsAndTools))]
    public async Task Block_add_without_params_fails_with_the_scripts_error(string scripts, string tools)
    {
        RequireTools(tools);
        string? xen = await ScriptsAsync(scripts);
        await using HotplugHost host = await HotplugHost.StartAsync();
        await host.CreateDomainAsync(7);
        HotplugInvocation vbd = await host.AddVbdAsync(7, 51712, withParams: false);

        HotplugResult result = await host.Runner(tools, xen).RunAsync(vbd, CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Contains("params", result.Error, StringComparison.Ordinal);
        Assert.Equal("error", await host.ReadAsync(vbd.BackendPath + "/hotplug-status"));
        // Xen's block reports the failed read, then its error trap overwrites hotplug-error with a generic line.
        Assert.NotEmpty(await host.ReadAsync(vbd.BackendPath + "/hotplug-error") ?? "");
        Assert.Null(await host.ReadAsync(vbd.BackendPath + "/physical-device"));
    }

    [Theory]
    [InlineData("xen")]
    [InlineData("reproduced")]
    public async Task Concurrent_disks_all_connect_under_the_global_lock(string scripts)
    {
        // Debian's tools: C programs start in a millisecond, where a plain build of ours starts the .NET runtime.
        RequireTools("debian");
        string? xen = await ScriptsAsync(scripts);
        await using HotplugHost host = await HotplugHost.StartAsync();
        ProcessHotplugRunner runner = host.Runner("debian", xen);
        int[] domains = [11, 12, 13, 14, 15, 16];
        var invocations = new List<HotplugInvocation>();
        foreach (int domid in domains)
        {
            await host.CreateDomainAsync(domid);
            invocations.Add(await host.AddVbdAsync(domid, 51712));
        }

        HotplugResult[] results = await Task.WhenAll(invocations.Select(v => runner.RunAsync(v, CancellationToken.None)));

        Assert.All(results, r => Assert.True(r.Succeeded, r.Error));
        foreach (HotplugInvocation vbd in invocations)
        {
            Assert.Equal("connected", await host.ReadAsync(vbd.BackendPath + "/hotplug-status"));
            Assert.Equal(SimulatedDisk.PhysicalDevice(vbd.FrontendDomid, 51712), await host.ReadAsync(vbd.BackendPath + "/physical-device"));
        }
    }
}
