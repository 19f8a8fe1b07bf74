using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Xenstore.HostSim.Report;

/// <summary>Writes a report as one JSON object, or as a short table for people.</summary>
internal static class ReportWriter
{
    public static string Json(HostSimReport r)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            HostSimOptions o = r.Options;
            json.WriteStartObject();
            json.WriteNumber("domains", o.Domains);
            json.WriteNumber("concurrency", o.Concurrency);
            json.WriteNumber("vifs", o.Vifs);
            json.WriteNumber("vbds", o.Vbds);
            json.WriteBoolean("driver_domain", o.DriverDomain);
            json.WriteString("hotplug", o.Hotplug == HotplugMode.Inline ? "inline" : "process");
            json.WriteString("tools", o.Tools == HotplugTools.Ours ? "ours" : "debian");
            json.WriteString("fault", FaultName(o.Fault));
            json.WriteNumber("booted", r.Booted);
            json.WriteNumber("destroyed", r.Destroyed);
            json.WriteNumber("died_by_fault", r.DiedByFault);
            json.WriteNumber("failures", r.Deviations.Count);
            json.WriteNumber("leftover_nodes", r.LeftoverNodes.Count);
            json.WriteNumber("boots_per_s", Math.Round(r.BootsPerSecond, 2));
            json.WriteNumber("boot_p50_ms", Math.Round(r.Percentile(50), 1));
            json.WriteNumber("boot_p99_ms", Math.Round(r.Percentile(99), 1));
            json.WriteNumber("boot_max_ms", Math.Round(r.Percentile(100), 1));
            json.WriteNumber("boot_phase_s", Math.Round(r.BootPhase.TotalSeconds, 3));
            json.WriteNumber("destroy_phase_s", Math.Round(r.DestroyPhase.TotalSeconds, 3));
            json.WriteNumber("requests", r.Requests);
            json.WriteNumber("requests_per_domain", Math.Round(r.RequestsPerDomain, 1));
            json.WriteNumber("cli_processes", r.CliProcesses);
            json.WriteNumber("cli_processes_per_domain", Math.Round((double)r.CliProcesses / Math.Max(1, o.Domains), 1));
            json.WriteNumber("hotplug_runs", r.HotplugRuns);
            json.WriteNumber("hotplug_ms_total", Math.Round(r.HotplugTime.TotalMilliseconds, 1));
            json.WriteNumber("eagain", r.Eagain);
            json.WriteNumber("events", r.Events);
            if (r.DaemonPid is int pid)
            {
                json.WriteNumber("daemon_pid", pid);
            }
            if (r.DaemonBefore is { } before && r.DaemonAfter is { } after)
            {
                json.WriteNumber("daemon_cpu_s", Math.Round((after.Cpu - before.Cpu).TotalSeconds, 3));
                json.WriteNumber("daemon_rss_kib_before", before.RssKiB);
                if (r.DaemonBooted is { } booted)
                {
                    json.WriteNumber("daemon_rss_kib_booted", booted.RssKiB);
                }
                json.WriteNumber("daemon_rss_kib_after", after.RssKiB);
                json.WriteNumber("daemon_anon_kib_before", before.AnonKiB);
                json.WriteNumber("daemon_anon_kib_after", after.AnonKiB);
            }
            json.WriteStartArray("deviations");
            foreach (Run.Deviation d in r.Deviations.Take(100))
            {
                json.WriteStartObject();
                json.WriteString("path", d.Path);
                json.WriteString("what", d.What);
                json.WriteString("answer", d.Answer);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("leftovers");
            foreach (string path in r.LeftoverNodes.Take(100))
            {
                json.WriteStringValue(path);
            }
            json.WriteEndArray();
            json.WriteStartArray("fault_events");
            foreach (string e in r.FaultEvents)
            {
                json.WriteStringValue(e);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string Table(HostSimReport r)
    {
        var text = new StringBuilder();
        CultureInfo c = CultureInfo.InvariantCulture;
        HostSimOptions o = r.Options;
        text.AppendLine(c, $"host: {o.Domains} guests x ({o.Vifs} vif + {o.Vbds} vbd), concurrency {o.Concurrency}, " +
            $"hotplug {(o.Hotplug == HotplugMode.Inline ? "inline" : "process")}{(o.DriverDomain ? ", driver domain" : "")}" +
            $"{(o.Fault != FaultKind.None ? ", fault " + FaultName(o.Fault) : "")}");
        text.AppendLine(c, $"  booted          {r.Booted}/{o.Domains}  ({r.BootsPerSecond:0.0} boots/s)");
        text.AppendLine(c, $"  boot time       p50 {r.Percentile(50):0.0} ms  p99 {r.Percentile(99):0.0} ms  max {r.Percentile(100):0.0} ms");
        text.AppendLine(c, $"  destroyed       {r.Destroyed}/{o.Domains}  in {r.DestroyPhase.TotalSeconds:0.00} s");
        text.AppendLine(c, $"  requests        {r.RequestsPerDomain:0} per domain;  CLI processes {r.CliProcesses};  EAGAIN {r.Eagain};  events {r.Events}");
        if (r.DaemonBefore is { } before && r.DaemonAfter is { } after)
        {
            text.AppendLine(c, $"  daemon          CPU {(after.Cpu - before.Cpu).TotalSeconds:0.00} s;  RSS {before.RssKiB} -> {r.DaemonBooted?.RssKiB ?? 0} -> {after.RssKiB} KiB (anonymous {before.AnonKiB} -> {after.AnonKiB})");
        }
        foreach (string e in r.FaultEvents)
        {
            text.AppendLine(c, $"  fault           {e}");
        }
        text.AppendLine(c, $"  checks          {(r.Passed ? "all passed" : $"{r.Deviations.Count} failed, {r.LeftoverNodes.Count} leftover nodes")}");
        foreach (Run.Deviation d in r.Deviations.Take(20))
        {
            text.AppendLine(c, $"    {d.Path}: {d.What}: {d.Answer}");
        }
        foreach (string path in r.LeftoverNodes.Take(20))
        {
            text.AppendLine(c, $"    leftover {path}");
        }
        return text.ToString();
    }

    public static string FaultName(FaultKind fault) => fault switch
    {
        FaultKind.BackendKill => "backend-kill",
        FaultKind.GuestDeath => "guest-death",
        FaultKind.DaemonRestart => "daemon-restart",
        FaultKind.LiveUpdate => "live-update",
        _ => "none",
    };
}
