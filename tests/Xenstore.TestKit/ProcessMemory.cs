using System.Globalization;

namespace Xenstore.TestKit;

/// <summary>What the kernel says about a process's memory.</summary>
public static class ProcessMemory
{
    /// <summary>The current resident set size (<c>VmRSS</c> in /proc/PID/status), in KiB.</summary>
    public static long RssKiB(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException("no VmRSS for process " + pid);
    }
}
