namespace Xenstore.HostSim.Run;

/// <summary>One failed check: where, what was expected, and what the daemon answered.</summary>
/// <param name="Path">The Xenstore path (or party) concerned.</param>
/// <param name="What">What went wrong.</param>
/// <param name="Answer">The daemon's answer or the value found.</param>
internal sealed record Deviation(string Path, string What, string Answer);

/// <summary>Every deviation of the run, in the order found; thread-safe.</summary>
internal sealed class Deviations
{
    private readonly List<Deviation> _all = [];

    public int Count
    {
        get
        {
            lock (_all)
            {
                return _all.Count;
            }
        }
    }

    public void Add(string path, string what, string answer)
    {
        lock (_all)
        {
            _all.Add(new Deviation(path, what, answer));
        }
    }

    public IReadOnlyList<Deviation> Snapshot()
    {
        lock (_all)
        {
            return [.. _all];
        }
    }
}
