using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;

namespace Xenstore.HostSim.Report;

/// <summary>
/// The daemon's CPU time and resident memory, read from /proc by pid: all of it (VmRSS) and its anonymous part
/// (RssAnon: heap, stacks, the data it wrote), which leaves out the pages of its executable and libraries, clean
/// copies of files the kernel may drop at any time.
/// </summary>
internal sealed record DaemonUsage(TimeSpan Cpu, long RssKiB, long AnonKiB)
{
    /// <summary>The pid of the process serving a Unix socket, from its peer credentials (SO_PEERCRED).</summary>
    public static int? PeerPid(string socketPath)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            Span<byte> credentials = stackalloc byte[12];
            const int SolSocket = 1;
            const int SoPeerCred = 17;
            int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
            int pid = length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(credentials) : 0;
            return pid > 0 ? pid : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>Reads /proc/PID/stat (utime + stime) and /proc/PID/status (VmRSS, RssAnon); null when the process is gone.</summary>
    public static DaemonUsage? Read(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command (which may hold spaces) start after the last ')'.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            long rss = 0;
            long anon = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = KiB(line);
                }
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anon = KiB(line);
                }
            }
            // USER_HZ is 100 on every Linux this runs on.
            return new DaemonUsage(TimeSpan.FromSeconds(ticks / 100.0), rss, anon);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    // "Name:   1234 kB"
    private static long KiB(string line) =>
        long.Parse(line[(line.IndexOf(':') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}
