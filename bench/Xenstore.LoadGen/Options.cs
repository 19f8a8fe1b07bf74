using System.Globalization;

namespace Xenstore.LoadGen;

/// <summary>Command line of the load generator.</summary>
internal sealed class Options
{
    public const string Usage = """
        Usage: xs-loadgen --socket PATH --workload NAME [options]
               xs-loadgen --null-server PATH
        Workloads:
          latency    one connection, one READ in flight: p50/p99/p999 round trip
          pipeline   one connection, --window READs in flight: ops/s
          fanin      --connections connections, one op in flight each (80% READ, 15% WRITE, 5% DIRECTORY)
          storm      --toolstacks connections creating domains in transactions, 2 backend watchers; then destroy
          bulk       --nodes nodes written pipelined, then a full walk (DIRECTORY + READ of every node)
          bigdir     --children children under one node, then the whole listing through DIRECTORY_PART
        Guest ring workloads (--sim-dir DIR: the simulated hypervisor's directory; the generator introduces its
        guests from --first-domid on through dom0's socket and spins on their response indexes):
          ring-latency   one guest, one READ in flight: p50/p99/p999 round trip
          ring-pipeline  one guest, --window READs in flight: ops/s
          ring-fanin     --guests guests, one READ in flight each: ops/s
          ring-flood     a guest floods its ring and never reads; another guest and dom0 time round trips; RSS
          ring-storm     a guest gets its ring ignored, then storms its event channel; the same measurements
        Options:
          --duration S        measured seconds (latency, pipeline, fanin, storm create phase; default 5)
          --warmup S          unmeasured seconds before (default 1)
          --window N          requests in flight (pipeline, bulk, bigdir; default 64)
          --connections N     fanin connections (default 64)
          --toolstacks N      storm toolstack connections (default 8)
          --nodes N           bulk nodes (default 100000)
          --children N        bigdir children (default 10000)
          --sim-dir DIR       ring workloads: the directory of the guests' pages and event FIFO
          --guests N          ring-fanin guests (default 32)
          --first-domid N     ring workloads: the first guest's domid (default 1)
          --daemon-pid PID    measure the daemon's CPU time (/proc/PID/stat) and RSS (/proc/PID/status)
          --timeout S         give up and report "stalled" after S seconds (default 300)
          --phase-limit S     bulk: stop loading (and walking) after S seconds and report a partial result (default 120)
          --no-payload-checks check reply headers only (for runs against --null-server)
          --null-server PATH  serve PATH, answering every request with its own type and "OK\0"
        Prints one JSON object on stdout. Exit code 0: every reply verified; 1: protocol error; 3: stalled.
        """;

    public string? SocketPath { get; private set; }
    public string? NullServerPath { get; private set; }
    public string Workload { get; private set; } = "";
    public double Duration { get; private set; } = 5;
    public double Warmup { get; private set; } = 1;
    public int Window { get; private set; } = 64;
    public int Connections { get; private set; } = 64;
    public int Toolstacks { get; private set; } = 8;
    public int Nodes { get; private set; } = 100_000;
    public int Children { get; private set; } = 10_000;
    public string? SimulationDirectory { get; private set; }
    public int Guests { get; private set; } = 32;
    public int FirstDomid { get; private set; } = 1;
    public int? DaemonPid { get; private set; }
    public double Timeout { get; private set; } = 300;
    public double PhaseLimit { get; private set; } = 120;
    public bool NoPayloadChecks { get; private set; }

    public static Options? Parse(string[] args, out string? error)
    {
        var o = new Options();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            double Number() => double.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture);
            try
            {
                switch (arg)
                {
                    case "--socket": o.SocketPath = Value(); break;
                    case "--null-server": o.NullServerPath = Value(); break;
                    case "--workload": o.Workload = Value(); break;
                    case "--duration": o.Duration = Number(); break;
                    case "--warmup": o.Warmup = Number(); break;
                    case "--window": o.Window = (int)Number(); break;
                    case "--connections": o.Connections = (int)Number(); break;
                    case "--toolstacks": o.Toolstacks = (int)Number(); break;
                    case "--nodes": o.Nodes = (int)Number(); break;
                    case "--children": o.Children = (int)Number(); break;
                    case "--sim-dir": o.SimulationDirectory = Value(); break;
                    case "--guests": o.Guests = (int)Number(); break;
                    case "--first-domid": o.FirstDomid = (int)Number(); break;
                    case "--daemon-pid": o.DaemonPid = (int)Number(); break;
                    case "--timeout": o.Timeout = Number(); break;
                    case "--phase-limit": o.PhaseLimit = Number(); break;
                    case "--no-payload-checks": o.NoPayloadChecks = true; break;
                    default:
                        error = $"unknown option '{arg}'";
                        return null;
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                error = e.Message;
                return null;
            }
        }
        if (o.NullServerPath is null && (o.SocketPath is null || o.Workload.Length == 0))
        {
            error = "--socket and --workload are required";
            return null;
        }
        return o;
    }
}
