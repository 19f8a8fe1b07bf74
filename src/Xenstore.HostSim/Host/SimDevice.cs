using System.Globalization;
using Xenstore.HostSim.Hotplug;

namespace Xenstore.HostSim.Host;

/// <summary>One PV device of a guest: where its directories are and whether each end reached Connected.</summary>
internal sealed class SimDevice(HotplugDeviceKind kind, int frontendDomid, int backendDomid, int deviceId, int index)
{
    public HotplugDeviceKind Kind { get; } = kind;

    public int FrontendDomid { get; } = frontendDomid;

    public int BackendDomid { get; } = backendDomid;

    /// <summary>The device id: the vif's index, the vbd's virtual-device number (xvda = 51712).</summary>
    public int DeviceId { get; } = deviceId;

    /// <summary>The device's index among the guest's devices of its kind.</summary>
    public int Index { get; } = index;

    public string KindName => Kind == HotplugDeviceKind.Vif ? "vif" : "vbd";

    public string FrontendPath => string.Create(CultureInfo.InvariantCulture, $"/local/domain/{FrontendDomid}/device/{KindName}/{DeviceId}");

    public string BackendPath => string.Create(CultureInfo.InvariantCulture, $"/local/domain/{BackendDomid}/backend/{KindName}/{FrontendDomid}/{DeviceId}");

    public string LibxlPath => string.Create(CultureInfo.InvariantCulture, $"/libxl/{FrontendDomid}/device/{KindName}/{DeviceId}");

    /// <summary>The backend runs outside dom0: libxl leaves its hotplug script to <c>xl devd</c> there.</summary>
    public bool IsInDriverDomain => BackendDomid != 0;

    /// <summary>Set when the backend switched to Connected.</summary>
    public TaskCompletionSource BackendConnected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when the frontend is Connected and has seen its backend Connected.</summary>
    public TaskCompletionSource FrontendConnected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HotplugInvocation Hotplug(HotplugAction action) =>
        new(Kind, action, BackendPath, FrontendDomid, BackendDomid, DeviceId);
}
