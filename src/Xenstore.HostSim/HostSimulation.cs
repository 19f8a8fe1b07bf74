using System.Collections.Concurrent;
using System.Diagnostics;
using Xenstore.Client;
using Xenstore.HostSim.Backends;
using Xenstore.HostSim.Frontends;
using Xenstore.HostSim.Host;
using Xenstore.HostSim.Hotplug;
using Xenstore.HostSim.Report;
using Xenstore.HostSim.Run;
using Xenstore.HostSim.Toolstack;
using Xenstore.HostSim.Xenbus;

namespace Xenstore.HostSim;

/// <summary>
/// One run of the simulated host: dom0's kernel (backends), an optional driver domain (backends and xl devd over
/// its ring), then every guest created by its own <c>xl create</c> (at most <c>--concurrency</c> at once) and
/// booted to every device Connected on both ends, then every guest destroyed likewise, then the checks.
/// </summary>
internal sealed class HostSimulation(HostSimOptions options)
{
    private readonly HostContext _host = new(options);
    private readonly ConcurrentDictionary<int, (GuestKernel Kernel, XenstoreClient Client)> _guests = new();
    private readonly List<SimDomain> _domains = [];
    private XenstoreClient? _driverClient;
    private int _booted;
    private int _destroyed;
    private Task _restart = Task.CompletedTask;

    /// <summary>How long the host stays quiet after the destroy before the daemon's memory is read.</summary>
    private static readonly TimeSpan QuietBeforeMemory = TimeSpan.FromSeconds(2);

    private TimeSpan BootTimeout => (options.WaitTimeout * 3) + options.HotplugTimeout;

    public async Task<HostSimReport> RunAsync(CancellationToken cancellationToken)
    {
        Connections connections = _host.Connections;
        await using XenstoreClient checker = await XenstoreClient.ConnectAsync(options.SocketPath, cancellationToken).ConfigureAwait(false);
        int? pid = _host.Restarter.Pid;
        DaemonUsage? before = pid is int p0 ? DaemonUsage.Read(p0) : null;
        await PrepareHostAsync(checker, cancellationToken).ConfigureAwait(false);
        HashSet<string> baseline = await TreeScan.AllNodesAsync(checker, cancellationToken).ConfigureAwait(false);

        IHotplugRunner hotplug = HotplugRunners.Create(options, domid => domid != 0 ? _driverClient : null);
        var libxl = new Libxl(options, _host.Counters, _host.Deviations, _host.Pages, hotplug, _host.Restarter);
        XenstoreClient dom0Kernel = await connections.Dom0KernelAsync(cancellationToken).ConfigureAwait(false);
        var dom0Backends = new BackendKernel(0, dom0Kernel, _host);
        await dom0Backends.StartAsync().ConfigureAwait(false);

        SimDomain? driver = options.DriverDomain ? new SimDomain(-1, options.FirstDomid, isDriverDomain: true) : null;
        BackendKernel? driverBackends = null;
        Devd? devd = null;
        if (driver is not null)
        {
            (driverBackends, devd) = await StartDriverDomainAsync(libxl, driver, hotplug, cancellationToken).ConfigureAwait(false);
        }
        PlanGuests(driver);

        using var progress = new CancellationTokenSource();
        Task progressLine = options.Quiet ? Task.CompletedTask : ShowProgressAsync(progress.Token);

        var boot = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(options.Concurrency))
        {
            await Task.WhenAll(_domains.Select(d => BootGuestAsync(libxl, d, gate, cancellationToken))).ConfigureAwait(false);
        }
        TimeSpan bootPhase = boot.Elapsed;
        await _restart.ConfigureAwait(false);
        if (_host.Restarter.Happened || options.Fault == FaultKind.LiveUpdate)
        {
            // Another process now: its CPU time and memory start afresh.
            // (The successor of a live update inherits the listening socket, whose peer credentials still name the
            // old process: its pid is not known here.)
            pid = _host.Restarter.Happened ? _host.Restarter.Pid : null;
            before = null;
        }
        DaemonUsage? booted = pid is int p1 ? DaemonUsage.Read(p1) : null;

        var destroy = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(options.Concurrency))
        {
            await Task.WhenAll(_domains.Select(d => DestroyGuestAsync(libxl, d, gate, cancellationToken))).ConfigureAwait(false);
        }
        if (driver is not null)
        {
            await DestroyDriverDomainAsync(libxl, driver, driverBackends!, devd!, cancellationToken).ConfigureAwait(false);
        }
        TimeSpan destroyPhase = destroy.Elapsed;
        await dom0Backends.DisposeAsync().ConfigureAwait(false);
        await connections.CloseAsync(dom0Kernel).ConfigureAwait(false);
        await progress.CancelAsync().ConfigureAwait(false);
        await progressLine.ConfigureAwait(false);

        await using XenstoreClient finalChecker = await XenstoreClient.ConnectAsync(options.SocketPath, cancellationToken).ConfigureAwait(false);
        HashSet<string> after = await TreeScan.AllNodesAsync(finalChecker, cancellationToken).ConfigureAwait(false);
        after.ExceptWith(baseline);
        if (pid is not null)
        {
            // Memory after the destroy is read once the host has been quiet for a moment, as between two storms: a
            // daemon may give memory back only when it goes quiet (ours does, a second after a large fall).
            await Task.Delay(QuietBeforeMemory, cancellationToken).ConfigureAwait(false);
        }
        DaemonUsage? end = pid is int p2 ? DaemonUsage.Read(p2) : null;
        return new HostSimReport
        {
            Options = options,
            Booted = _booted,
            Destroyed = _destroyed,
            DiedByFault = _domains.Count(d => d.DiedByFault),
            Deviations = _host.Deviations.Snapshot(),
            LeftoverNodes = [.. after.Order(StringComparer.Ordinal)],
            FaultEvents = _host.Faults.Snapshot(),
            BootTimes = [.. _domains.Where(d => d.BootTime is not null).Select(d => d.BootTime!.Value)],
            BootPhase = bootPhase,
            DestroyPhase = destroyPhase,
            Requests = _host.Counters.Requests,
            CliProcesses = _host.Counters.CliProcesses,
            HotplugRuns = _host.Counters.HotplugRuns,
            HotplugTime = _host.Counters.HotplugTime,
            Eagain = _host.Counters.Eagain,
            Events = _host.Counters.Events,
            DaemonPid = pid,
            DaemonBefore = before,
            DaemonBooted = booted,
            DaemonAfter = end,
        };
    }

    /// <summary>
    /// A booted host: dom0's home as xen-init-dom0 writes it, and <c>/vm</c> and <c>/libxl</c> (dom0's only) as
    /// left by any earlier <c>xl</c> command.
    /// </summary>
    private static async Task PrepareHostAsync(XenstoreClient checker, CancellationToken cancellationToken)
    {
        if (await checker.TryReadAsync("/local/domain/0/name", cancellationToken).ConfigureAwait(false) is null)
        {
            await checker.WriteAsync("/local/domain/0/name", "Domain-0", cancellationToken).ConfigureAwait(false);
            await checker.WriteAsync("/local/domain/0/domid", "0", cancellationToken).ConfigureAwait(false);
        }
        foreach (string path in (string[])["/vm", "/libxl"])
        {
            if (await checker.TryReadAsync(path, cancellationToken).ConfigureAwait(false) is null)
            {
                await XenbusOps.MknodAsync(checker, path, Perms.Dom0Only, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void PlanGuests(SimDomain? driver)
    {
        int first = options.FirstDomid + (driver is null ? 0 : 1);
        for (int i = 0; i < options.Domains; i++)
        {
            var domain = new SimDomain(i, first + i, isDriverDomain: false);
            for (int v = 0; v < options.Vbds; v++)
            {
                domain.Devices.Add(new SimDevice(HotplugDeviceKind.Vbd, domain.Domid, 0, 51712 + (16 * v), v));
            }
            bool viaDriver = driver is not null && i % options.DriverDomainEvery == 0;
            for (int v = 0; v < options.Vifs; v++)
            {
                domain.Devices.Add(new SimDevice(HotplugDeviceKind.Vif, domain.Domid, viaDriver ? driver!.Domid : 0, v, v));
            }
            foreach (SimDevice device in domain.Devices)
            {
                _host.Registry.Add(device);
            }
            if (options.Fault == FaultKind.BackendKill && i == options.FaultTarget && domain.Devices.Count > 0)
            {
                _host.BackendsToKill[domain.Devices[^1].BackendPath] = true;
            }
            _domains.Add(domain);
        }
    }

    private async Task<(BackendKernel, Devd)> StartDriverDomainAsync(Libxl libxl, SimDomain driver, IHotplugRunner hotplug,
        CancellationToken cancellationToken)
    {
        Connections connections = _host.Connections;
        XenstoreClient xl = await connections.Dom0Async(cancellationToken).ConfigureAwait(false);
        try
        {
            await libxl.CreateDomainAsync(xl, driver, resume: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await connections.CloseAsync(xl).ConfigureAwait(false);
        }
        _driverClient = await connections.GuestAsync(driver.Domid, cancellationToken).ConfigureAwait(false);
        var backends = new BackendKernel(driver.Domid, _driverClient, _host);
        await backends.StartAsync().ConfigureAwait(false);
        var devd = new Devd(driver.Domid, _driverClient, _host, hotplug);
        await devd.StartAsync().ConfigureAwait(false);
        return (backends, devd);
    }

    private async Task DestroyDriverDomainAsync(Libxl libxl, SimDomain driver, BackendKernel backends, Devd devd,
        CancellationToken cancellationToken)
    {
        Connections connections = _host.Connections;
        XenstoreClient xl = await connections.Dom0Async(cancellationToken).ConfigureAwait(false);
        try
        {
            await libxl.DestroyDomainAsync(xl, driver, async () =>
            {
                await devd.DisposeAsync().ConfigureAwait(false);
                await backends.DisposeAsync().ConfigureAwait(false);
                await connections.CloseAsync(_driverClient!).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await connections.CloseAsync(xl).ConfigureAwait(false);
        }
    }

    /// <summary><c>xl create</c>, then the guest's kernel once unpaused, until every device is Connected on both ends.</summary>
    private async Task BootGuestAsync(Libxl libxl, SimDomain domain, SemaphoreSlim gate, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var clock = Stopwatch.StartNew();
            Connections connections = _host.Connections;
            if (options.Fault == FaultKind.DaemonRestart && domain.Index == options.FaultTarget)
            {
                _restart = Task.Run(_host.Restarter.RestartAsync, CancellationToken.None);
            }
            if (options.Fault == FaultKind.LiveUpdate && domain.Index == options.FaultTarget)
            {
                var updater = new LiveUpdater(options, _host.Faults, _host.Deviations);
                _restart = Task.Run(() => updater.UpdateAsync(cancellationToken), CancellationToken.None);
            }
            bool created;
            for (int attempt = 1; ; attempt++)
            {
                XenstoreClient? xl = null;
                try
                {
                    xl = await connections.Dom0Async(cancellationToken).ConfigureAwait(false);
                    await libxl.CreateDomainAsync(xl, domain, resume: attempt > 1, cancellationToken).ConfigureAwait(false);
                    created = await libxl.AddDevicesAsync(xl, domain, resume: attempt > 1, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (XenstoreException e) when (_host.IsOutage(e) && attempt < 5)
                {
                    // The daemon was killed under this xl create: run it again once the daemon is back.
                    await _host.Restarter.Back.ConfigureAwait(false);
                }
                catch (XenstoreException e)
                {
                    _host.Deviations.Add(domain.Home, $"xl create of domain {domain.Domid}", e.Message);
                    created = false;
                    break;
                }
                finally
                {
                    if (xl is not null)
                    {
                        await connections.CloseAsync(xl).ConfigureAwait(false);
                    }
                }
            }
            if (!created || !domain.Introduced)
            {
                return;
            }
            // Unpaused: the guest's kernel starts on its ring.
            XenstoreClient ring = await connections.GuestAsync(domain.Domid, cancellationToken).ConfigureAwait(false);
            var kernel = new GuestKernel(domain, ring, _host)
            {
                DiesWhileConnecting = options.Fault == FaultKind.GuestDeath && domain.Index == options.FaultTarget,
            };
            _guests[domain.Domid] = (kernel, ring);
            await kernel.StartAsync().ConfigureAwait(false);
            Task connected = Task.WhenAll(domain.Devices.SelectMany(d => new[] { d.BackendConnected.Task, d.FrontendConnected.Task }));
            Task first = await Task.WhenAny(connected, kernel.Died.Task, Task.Delay(BootTimeout, cancellationToken)).ConfigureAwait(false);
            if (first == connected && await CheckConnectedAsync(domain, cancellationToken).ConfigureAwait(false))
            {
                domain.BootTime = clock.Elapsed;
                Interlocked.Increment(ref _booted);
            }
            else if (first != kernel.Died.Task)
            {
                await ReportUnconnectedAsync(domain, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Reads both ends' states back through dom0: every one must say Connected.</summary>
    private async Task<bool> CheckConnectedAsync(SimDomain domain, CancellationToken cancellationToken)
    {
        await using XenstoreClient checker = await XenstoreClient.ConnectAsync(options.SocketPath, cancellationToken).ConfigureAwait(false);
        bool ok = true;
        foreach (SimDevice device in domain.Devices)
        {
            foreach (string end in (string[])[device.FrontendPath, device.BackendPath])
            {
                string? state = await XenbusOps.ReadOrNullAsync(checker, end + "/state", cancellationToken).ConfigureAwait(false);
                if (XenbusStates.Parse(state) != XenbusState.Connected)
                {
                    _host.Deviations.Add(end + "/state", "reported Connected but reads otherwise", state ?? "(missing)");
                    ok = false;
                }
            }
        }
        return ok;
    }

    private async Task ReportUnconnectedAsync(SimDomain domain, CancellationToken cancellationToken)
    {
        await using XenstoreClient checker = await XenstoreClient.ConnectAsync(options.SocketPath, cancellationToken).ConfigureAwait(false);
        foreach (SimDevice device in domain.Devices.Where(d => !d.FrontendConnected.Task.IsCompleted || !d.BackendConnected.Task.IsCompleted))
        {
            string? fe = await XenbusOps.ReadOrNullAsync(checker, device.FrontendPath + "/state", cancellationToken).ConfigureAwait(false);
            string? be = await XenbusOps.ReadOrNullAsync(checker, device.BackendPath + "/state", cancellationToken).ConfigureAwait(false);
            string? hotplug = await XenbusOps.ReadOrNullAsync(checker, device.BackendPath + "/hotplug-status", cancellationToken).ConfigureAwait(false);
            _host.Deviations.Add(device.FrontendPath, $"{device.KindName} not Connected on both ends within {BootTimeout.TotalSeconds:0} s",
                $"frontend state {fe ?? "(missing)"}, backend state {be ?? "(missing)"}, hotplug-status {hotplug ?? "(missing)"}");
        }
    }

    /// <summary><c>xl destroy</c>: the guest's kernel stops when libxl pauses it.</summary>
    private async Task DestroyGuestAsync(Libxl libxl, SimDomain domain, SemaphoreSlim gate, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Connections connections = _host.Connections;
            XenstoreClient xl = await connections.Dom0Async(cancellationToken).ConfigureAwait(false);
            try
            {
                await libxl.DestroyDomainAsync(xl, domain, () => PauseAsync(domain), cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _destroyed);
            }
            catch (XenstoreException e)
            {
                _host.Deviations.Add(domain.Home, $"xl destroy of domain {domain.Domid}", e.Message);
            }
            finally
            {
                await connections.CloseAsync(xl).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task PauseAsync(SimDomain domain)
    {
        if (_guests.TryRemove(domain.Domid, out var guest))
        {
            await guest.Kernel.DisposeAsync().ConfigureAwait(false);
            await _host.Connections.CloseAsync(guest.Client).ConfigureAwait(false);
        }
    }

    private async Task ShowProgressAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await Console.Error.WriteAsync(
                    $"\rxenstore-hostsim: booted {Volatile.Read(ref _booted)}/{options.Domains}  destroyed {Volatile.Read(ref _destroyed)}/{options.Domains}  " +
                    $"failures {_host.Deviations.Count}  requests {_host.Counters.Requests}   ").ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Console.Error.WriteLineAsync().ConfigureAwait(false);
    }
}
