using System.Diagnostics;
using System.Text.Json;
using Xenstore.LoadGen;
using Xenstore.LoadGen.Rings;

Options? options = Options.Parse(args, out string? error);
if (options is null)
{
    Console.Error.WriteLine($"xs-loadgen: {error}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

if (options.NullServerPath is not null)
{
    await NullServer.RunAsync(options.NullServerPath).ConfigureAwait(false);
    return 0;
}

Replies.PayloadChecksOff = options.NoPayloadChecks;
var result = new Result(options.Workload);

// The time box: a daemon that stops answering must not hang the run.
using var watchdog = new Timer(_ =>
{
    result["ok"] = false;
    result["error"] = $"stalled: no completion within {options.Timeout} s";
    Console.WriteLine(result.ToJson());
    Console.Out.Flush();
    Environment.Exit(3);
}, null, TimeSpan.FromSeconds(options.Timeout), Timeout.InfiniteTimeSpan);

var probe = new DaemonProbe(options.DaemonPid);
var context = new WorkloadContext(options, probe, result);
var total = Stopwatch.StartNew();
try
{
    switch (options.Workload)
    {
        case "latency": LatencyWorkload.Run(context); break;
        case "pipeline": PipelineWorkload.Run(context); break;
        case "fanin": FanInWorkload.Run(context); break;
        case "storm": await StormWorkload.RunAsync(context).ConfigureAwait(false); break;
        case "bulk": BulkWorkload.Run(context); break;
        case "bigdir": BigDirectoryWorkload.Run(context); break;
        case "ring-latency": RingLatencyWorkload.Run(context); break;
        case "ring-pipeline": RingThroughputWorkload.Run(context, 1, options.Window); break;
        case "ring-fanin": RingThroughputWorkload.Run(context, options.Guests, 1); break;
        case "ring-flood": HostileGuestWorkload.Run(context, "flood"); break;
        case "ring-storm": HostileGuestWorkload.Run(context, "notify-storm"); break;
        default:
            Console.Error.WriteLine($"xs-loadgen: unknown workload '{options.Workload}'");
            return 2;
    }
    result["ok"] = true;
}
catch (Exception e) when (e is ProtocolException or System.Net.Sockets.SocketException or IOException)
{
    result["ok"] = false;
    result["error"] = e.Message;
}
watchdog.Change(Timeout.Infinite, Timeout.Infinite);
result["wall_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 3);
Console.WriteLine(result.ToJson());
return result["ok"] is true ? 0 : 1;

namespace Xenstore.LoadGen
{
    /// <summary>Named figures of one run, printed as one JSON object.</summary>
    internal sealed class Result(string workload)
    {
        private readonly Dictionary<string, object?> _values = new() { ["workload"] = workload };
        private readonly Lock _lock = new();

        public object? this[string key]
        {
            get { lock (_lock) { return _values.GetValueOrDefault(key); } }
            set { lock (_lock) { _values[key] = value is double d ? (double.IsFinite(d) ? Math.Round(d, 3) : null) : value; } }
        }

        public string ToJson()
        {
            lock (_lock)
            {
                return JsonSerializer.Serialize(_values);
            }
        }
    }

    /// <summary>What every workload gets.</summary>
    internal sealed record WorkloadContext(Options Options, DaemonProbe Probe, Result Result)
    {
        public XsConnection Connect() => XsConnection.Connect(Options.SocketPath!);

        /// <summary>Records daemon CPU per operation over a measured phase.</summary>
        public void RecordCpu(string prefix, double cpuBefore, double cpuAfter, long operations, double seconds)
        {
            double cpu = cpuAfter - cpuBefore;
            Result[prefix + "daemon_cpu_seconds"] = cpu;
            Result[prefix + "daemon_cpu_us_per_op"] = operations > 0 ? cpu * 1e6 / operations : double.NaN;
            Result[prefix + "daemon_cpu_utilisation"] = seconds > 0 ? cpu / seconds : double.NaN;
        }
    }
}
