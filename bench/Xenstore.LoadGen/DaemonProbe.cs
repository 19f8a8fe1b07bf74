using System.Globalization;

namespace Xenstore.LoadGen;

/// <summary>Reads a process's CPU time (all threads, user + system) and resident set size from /proc.</summary>
internal sealed class DaemonProbe(int? pid)
{
    // USER_HZ: the unit of /proc/PID/stat times; 100 on every Linux architecture we run on.
    private const double TicksPerSecond = 100;

    public bool Available => pid is not null && File.Exists($"/proc/{pid}/stat");

    /// <summary>CPU seconds used so far, or NaN when there is no process to measure.</summary>
    public double CpuSeconds()
    {
        if (!Available)
        {
            return double.NaN;
        }
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name (which may contain spaces) start at the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        long utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        long stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / TicksPerSecond;
    }

    /// <summary>
    /// Context switches of all the process's live threads so far (voluntary and not), or -1. A request that crosses
    /// threads inside the daemon shows here as several switches per operation.
    /// </summary>
    public long ContextSwitches()
    {
        if (!Available)
        {
            return -1;
        }
        long total = 0;
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)
                        || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }
        return total;
    }

    /// <summary>Resident set size in bytes, or -1.</summary>
    public long RssBytes()
    {
        if (!Available)
        {
            return -1;
        }
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                string kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        return -1;
    }
}
