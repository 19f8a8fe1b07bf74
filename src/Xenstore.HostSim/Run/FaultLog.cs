namespace Xenstore.HostSim.Run;

/// <summary>What the injected faults did, in order, for the report; thread-safe.</summary>
internal sealed class FaultLog
{
    private readonly List<string> _events = [];

    public void Add(string what)
    {
        lock (_events)
        {
            _events.Add(what);
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_events)
        {
            return [.. _events];
        }
    }
}
