using System.Globalization;
using Microsoft.Extensions.Logging;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// The engine's view of the daemon: CONTROL commands that concern the process (log, print, memreport) and the
/// transport side of domain introduction and release.
/// </summary>
internal sealed class ServerEngineHost(ILogger logger, uint? privilegedDomid, ServerMetrics metrics) : IEngineHost
{
    public StoreLoop? Loop { get; set; }

    public Rings.RingManager? Rings { get; set; }

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
        bool privileged = domid == 0 || domid == privilegedDomid;
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
            case "memreport":
                return MemoryReport();
            default:
                return null;
        }
    }

    private static string MemoryReport()
    {
        GCMemoryInfo info = GC.GetGCMemoryInfo();
        return string.Create(CultureInfo.InvariantCulture,
            $"heap-size: {info.HeapSizeBytes}\nmanaged-allocated: {GC.GetTotalMemory(false)}\nworking-set: {Environment.WorkingSet}\ngc-count: {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}\n");
    }
}
