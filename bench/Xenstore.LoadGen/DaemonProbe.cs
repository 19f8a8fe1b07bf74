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
