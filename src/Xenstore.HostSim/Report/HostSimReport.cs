using Xenstore.HostSim.Run;

namespace Xenstore.HostSim.Report;

/// <summary>The outcome of a run: what the JSON object and the table show.</summary>
internal sealed record HostSimReport
{
    public required HostSimOptions Options { get; init; }

    public int Booted { get; init; }

    public int Destroyed { get; init; }

    /// <summary>Guests that died by the injected fault (not expected to boot).</summary>
    public int DiedByFault { get; init; }

    public required IReadOnlyList<Deviation> Deviations { get; init; }

    public required IReadOnlyList<string> LeftoverNodes { get; init; }

    public required IReadOnlyList<string> FaultEvents { get; init; }

    public required IReadOnlyList<TimeSpan> BootTimes { get; init; }

    public TimeSpan BootPhase { get; init; }

    public TimeSpan DestroyPhase { get; init; }

    public long Requests { get; init; }

    public long CliProcesses { get; init; }

    public long HotplugRuns { get; init; }

    public TimeSpan HotplugTime { get; init; }

    public long Eagain { get; init; }

    public long Events { get; init; }

    public int? DaemonPid { get; init; }

    public DaemonUsage? DaemonBefore { get; init; }

    public DaemonUsage? DaemonBooted { get; init; }

    public DaemonUsage? DaemonAfter { get; init; }

    /// <summary>Every check passed.</summary>
    public bool Passed => Deviations.Count == 0 && LeftoverNodes.Count == 0;

    public double BootsPerSecond => BootPhase > TimeSpan.Zero ? Booted / BootPhase.TotalSeconds : 0;

    public double RequestsPerDomain => Options.Domains > 0 ? (double)Requests / Options.Domains : 0;

    public double Percentile(double p)
    {
        if (BootTimes.Count == 0)
        {
            return 0;
        }
        double[] sorted = [.. BootTimes.Select(t => t.TotalMilliseconds).Order()];
        int index = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
