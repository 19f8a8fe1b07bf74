namespace Xenstore.HostSim.Hotplug;

/// <summary>Runs hotplug scripts as real processes. Not part of this build: every run fails and says so.</summary>
internal sealed class ProcessHotplugRunner : IHotplugRunner
{
    public ProcessHotplugRunner(HostSimOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
    }

    public Task<HotplugResult> RunAsync(HotplugInvocation invocation, CancellationToken cancellationToken) =>
        Task.FromResult(new HotplugResult(false, 0, 0, TimeSpan.Zero, "process hotplug not available in this build"));
}
