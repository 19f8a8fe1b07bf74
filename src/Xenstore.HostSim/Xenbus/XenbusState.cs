using System.Globalization;

namespace Xenstore.HostSim.Xenbus;

/// <summary>The states of xen/include/public/io/xenbus.h, stored as decimal text in a device's <c>state</c>.</summary>
internal enum XenbusState
{
    Unknown = 0,
    Initialising = 1,
    InitWait = 2,
    Initialised = 3,
    Connected = 4,
    Closing = 5,
    Closed = 6,
}

internal static class XenbusStates
{
    /// <summary>A missing or unreadable node reads as Unknown, as in Linux's xenbus_read_driver_state.</summary>
    public static XenbusState Parse(string? text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value is >= 0 and <= 6
            ? (XenbusState)value : XenbusState.Unknown;

    public static string Text(XenbusState state) => ((int)state).ToString(CultureInfo.InvariantCulture);
}
