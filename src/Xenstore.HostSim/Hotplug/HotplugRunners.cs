using Xenstore.Client;

namespace Xenstore.HostSim.Hotplug;

/// <summary>Chooses the hotplug runner <c>--hotplug</c> asks for.</summary>
internal static class HotplugRunners
{
    /// <param name="options">The run's options.</param>
    /// <param name="backendDomainConnection">
    /// For inline scripts: the connection of backend domain N's kernel (a driver domain's ring), or null for dom0.
    /// </param>
    public static IHotplugRunner Create(HostSimOptions options, Func<int, XenstoreClient?> backendDomainConnection) =>
        options.Hotplug switch
        {
            HotplugMode.Process => new ProcessHotplugRunner(options),
            _ => new InlineHotplugRunner(options, backendDomainConnection),
        };
}
