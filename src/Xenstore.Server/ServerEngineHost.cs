using System.Globalization;
using Microsoft.Extensions.Logging;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// The engine's view of the daemon: CONTROL commands that concern the process (log, print, memreport) and the
/// transport side of domain introduction and release.
/// </summary>
internal sealed class ServerEngineHost(ILogger logger, ServerMetrics metrics) : IEngineHost
{
    public StoreLoop? Loop { get; set; }

    public Rings.RingManager? Rings { get; set; }

    public LiveUpdate.LiveUpdateCoordinator? LiveUpdate { get; set; }

    public bool TryDeferControl(int connectionId, Protocol.XsHeader header, string command, IReadOnlyList<string> args)
    {
        if (command != "live-update" || !args.Contains("-s") || LiveUpdate is null || Loop is null
            || LiveUpdate.Refusal(Loop.Engine, args.Contains("-F")) is not null)
        {
            return false;
        }
        LiveUpdate.Start(connectionId, header);
        return true;
    }

    /// <summary>Trace switches, set at run time with CONTROL <c>log on|off|+name|-name</c>.</summary>
    public TraceSwitches Trace { get; } = new();

    public void DomainReleased(uint domid) => Loop?.ForgetConnectionsOf(domid);

    /// <summary>Called on the store thread: hands the new domain to the ring thread with its current limits.</summary>
    public void DomainIntroduced(uint domid, ulong gfn, uint eventChannel, bool isNew)
    {
        if (Rings is null || Loop is null)
        {
            return;
        }
        XenstoreEngine engine = Loop.Engine;
        bool privileged = engine.IsPrivilegedDomain(domid);
        Rings.Attach(new Rings.RingWork.Attach(
            domid, gfn, eventChannel, isNew,
            privileged ? 0 : (int)Math.Min(int.MaxValue, engine.EffectiveQuota(domid, Quota.Outstanding)),
            privileged ? 0 : (int)Math.Min(int.MaxValue, engine.EffectiveQuota(domid, Quota.WatchEvents)),
            privileged,
            engine.FeaturesOf(domid)));
    }

    public string? Control(string command, IReadOnlyList<string> args)
    {
        switch (command)
        {
            case "log" when args.Count == 0:
                return Trace.Describe();
            case "log" when args.Count == 1:
                return Trace.Apply(args[0]) ? "OK" : null;
            case "print" when args.Count >= 1:
                Log.ControlPrint(logger, string.Join(' ', args));
                return "OK";
            case "metrics" when args.Count == 0:
                return metrics.Render();
            case "live-update" when LiveUpdate is not null && Loop is not null:
                return LiveUpdateCommand(args);
            case "memreport":
                return MemoryReport();
            default:
                return null;
        }
    }

    /// <summary>
    /// The steps of xenstore-control's live-update protocol: <c>-f binary</c>, <c>-c cmdline</c>, <c>-a</c> (abort),
    /// and <c>-s [-t secs] [-F]</c> when it cannot start now (a start that can go ahead is deferred, see above).
    /// </summary>
    private string? LiveUpdateCommand(IReadOnlyList<string> args)
    {
        if (args.Count == 2 && args[0] == "-f")
        {
            LiveUpdate!.Binary = args[1];
            return "OK";
        }
        if (args.Count >= 2 && args[0] == "-c")
        {
            LiveUpdate!.CommandLine = string.Join(' ', args.Skip(1));
            return "OK";
        }
        if (args.Count == 1 && args[0] == "-a")
        {
            LiveUpdate!.Binary = null;
            LiveUpdate.CommandLine = null;
            return "OK";
        }
        if (args.Contains("-s"))
        {
            return LiveUpdate!.Refusal(Loop!.Engine, args.Contains("-F")) ?? "BUSY";
        }
        return null;
    }

    private static string MemoryReport()
    {
        GCMemoryInfo info = GC.GetGCMemoryInfo();
        return string.Create(CultureInfo.InvariantCulture,
            $"heap-size: {info.HeapSizeBytes}\nmanaged-allocated: {GC.GetTotalMemory(false)}\nworking-set: {Environment.WorkingSet}\ngc-count: {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}\n");
    }
}
