using Microsoft.Extensions.Logging;
using Xenstore.Server.Accounting;
using Xenstore.Server.LiveUpdate;
using Xenstore.Server.Transports.Rings;
using Xenstore.Store;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// The engine's view of the daemon: CONTROL commands that concern the process (log, print, metrics, memreport,
/// live-update), and the transport side of domain introduction and release. Called on the store thread.
/// </summary>
internal sealed class EngineHost(
    ConnectionRegistry connections,
    EngineOutputRouter output,
    RingManager? rings,
    LiveUpdateRequests liveUpdate,
    TraceSwitches trace,
    OperatorView view,
    ILogger logger) : IEngineHost
{
    public bool TryDeferControl(XenstoreEngine engine, int connectionId, Protocol.XsHeader header, string command, IReadOnlyList<string> args)
    {
        if (command != "live-update" || !args.Contains("-s") || liveUpdate.Refusal(engine, args.Contains("-F")) is not null)
        {
            return false;
        }
        liveUpdate.Start(connectionId, header, args.Contains("-F"));
        return true;
    }

    /// <summary>A released domain's connections are dropped (the engine already forgot them).</summary>
    public void DomainReleased(uint domid)
    {
        foreach (IClientConnection connection in connections.OfDomain(domid))
        {
            connections.Remove(connection);
            output.Forget(connection);
            view.ConnectionClosed(connection.Id);
            connection.Abort("domain released");
        }
        view.DomainReleased(domid);
    }

    /// <summary>Starts serving the new domain's ring with its current limits (its features are advertised at once).</summary>
    public void DomainIntroduced(DomainIntroduction domain) => rings?.Attach(domain);

    public string? Control(XenstoreEngine engine, int connectionId, string command, IReadOnlyList<string> args)
    {
        switch (command)
        {
            case "log" when args.Count == 0:
                return trace.Describe();
            case "log" when args.Count == 1:
                return trace.Apply(args[0]) ? "OK" : null;
            case "print" when args.Count >= 1:
                Log.ControlPrint(logger, string.Join(' ', args));
                return "OK";
            case "live-update":
                return LiveUpdateCommand(engine, args);
            case var _ when OperatorView.Handles(command):
                return view.Control(engine, connectionId, command, args);
            default:
                return null;
        }
    }

    /// <summary>
    /// The steps of xenstore-control's live-update protocol: <c>-f binary</c>, <c>-c cmdline</c>, <c>-a</c> (abort),
    /// and <c>-s [-t secs] [-F]</c> when it cannot start now (a start that can go ahead is deferred, see above).
    /// </summary>
    private string? LiveUpdateCommand(XenstoreEngine engine, IReadOnlyList<string> args)
    {
        if (args.Count == 2 && args[0] == "-f")
        {
            liveUpdate.Binary = args[1];
            return "OK";
        }
        if (args.Count >= 2 && args[0] == "-c")
        {
            liveUpdate.CommandLine = string.Join(' ', args.Skip(1));
            return "OK";
        }
        if (args.Count == 1 && args[0] == "-a")
        {
            liveUpdate.Binary = null;
            liveUpdate.CommandLine = null;
            return "OK";
        }
        if (args.Contains("-s"))
        {
            return liveUpdate.Refusal(engine, args.Contains("-F")) ?? "BUSY";
        }
        return null;
    }

    public void Refused(XenstoreEngine engine, in Refusal refusal) => view.Refused(engine, refusal);
}
