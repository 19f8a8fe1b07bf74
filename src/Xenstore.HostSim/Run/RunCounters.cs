namespace Xenstore.HostSim.Run;

/// <summary>What the run's parties did, summed over every connection; thread-safe.</summary>
internal sealed class RunCounters
{
    private long _requests;
    private long _eagain;
    private long _events;
    private long _cliProcesses;
    private long _hotplugRuns;
    private long _hotplugTicks;

    /// <summary>Xenstore requests of the toolstack, backends, frontends and hotplug scripts (not of the checks).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Transactions that ended in EAGAIN and were retried, as libxl and the drivers retry them.</summary>
    public long Eagain => Interlocked.Read(ref _eagain);

    /// <summary>Watch events the parties received.</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>Processes the hotplug scripts started.</summary>
    public long CliProcesses => Interlocked.Read(ref _cliProcesses);

    /// <summary>Hotplug scripts run.</summary>
    public long HotplugRuns => Interlocked.Read(ref _hotplugRuns);

    /// <summary>Wall time spent in hotplug scripts, summed.</summary>
    public TimeSpan HotplugTime => TimeSpan.FromTicks(Interlocked.Read(ref _hotplugTicks));

    public void AddRequests(long count) => Interlocked.Add(ref _requests, count);

    public void AddEagain() => Interlocked.Increment(ref _eagain);

    public void AddEvent() => Interlocked.Increment(ref _events);

    public void AddHotplug(int processes, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _hotplugRuns);
        Interlocked.Add(ref _cliProcesses, processes);
        Interlocked.Add(ref _hotplugTicks, elapsed.Ticks);
    }
}
