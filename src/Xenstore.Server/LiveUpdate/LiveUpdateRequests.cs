using System.Threading.Channels;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// The live-update settings and requests as CONTROL <c>live-update</c> and SIGUSR2 leave them: the binary and
/// command line of the next daemon, whether an update may start now, and the starts asked for, which the
/// <see cref="LiveUpdateCoordinator"/> carries out. Kept apart from the coordinator so that the engine's host can
/// take requests without knowing the transports the coordinator hands over.
/// </summary>
internal sealed class LiveUpdateRequests(bool hasStateDirectory)
{
    private readonly Channel<LiveUpdateStart> _starts = Channel.CreateUnbounded<LiveUpdateStart>();
    private int _inProgress;

    /// <summary>Binary of the next daemon (<c>-f</c>); null: the running one.</summary>
    public string? Binary { get; set; }

    /// <summary>Replacement command line (<c>-c</c>); null: the running daemon's arguments.</summary>
    public string? CommandLine { get; set; }

    public bool InProgress => Volatile.Read(ref _inProgress) != 0;

    /// <summary>Why a live update cannot start now, or null. Store thread.</summary>
    public string? Refusal(XenstoreEngine engine, bool force)
    {
        if (!hasStateDirectory)
        {
            return "live update needs a state directory (the daemon runs with --no-persistence)";
        }
        if (InProgress)
        {
            return "BUSY";
        }
        return engine.Statistics.OpenTransactions > 0 && !force ? "BUSY" : null;
    }

    /// <summary>
    /// Asks for an update; the reply to (connection, header) is sent by whichever daemon finishes it.
    /// <paramref name="force"/> (<c>-F</c>): transactions still open when the store is quiet are given up.
    /// </summary>
    public void Start(int requester, XsHeader header, bool force)
    {
        if (Interlocked.Exchange(ref _inProgress, 1) == 0)
        {
            _starts.Writer.TryWrite(new LiveUpdateStart(requester, header, force));
        }
    }

    /// <summary>The update asked for is over (it failed: this daemon carries on).</summary>
    public void Finished() => Volatile.Write(ref _inProgress, 0);

    public ChannelReader<LiveUpdateStart> Starts => _starts.Reader;

    public void Complete() => _starts.Writer.TryComplete();
}

/// <summary>A requested start: who asked (-1 for SIGUSR2), the request to answer, and whether it was forced.</summary>
internal readonly record struct LiveUpdateStart(int Requester, XsHeader Header, bool Force);
