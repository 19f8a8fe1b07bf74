using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>What a transcript line records.</summary>
internal enum GuestLineKind
{
    Request,
    Reply,
    Event,
    Node,
}

/// <summary>
/// One line of a run's transcript. <see cref="StepIndex"/> is -1 for the toolstack's set-up and the number of steps
/// for what is checked after the last one (pending events, the final tree).
/// </summary>
internal sealed record GuestTranscriptLine(int StepIndex, GuestStep? Step, GuestLineKind Kind, string Text)
{
    public override string ToString() => Kind == GuestLineKind.Request ? $"{StepIndex,4} {Text}" : $"       {Text}";
}

/// <summary>
/// A daemon serving guest rings (ours with --sim-dir, or a reference C xenstored with REFXS_RINGS=1) and dom0 on its
/// socket, running one <see cref="RandomGuestSequence"/> into a transcript. What each daemon numbers its own way is
/// normalised here: transaction ids become each actor's ordinals (tx#1, tx#2, …) and DIRECTORY_PART's generation
/// is left out.
/// </summary>
internal sealed class GuestSequenceStage : IAsyncDisposable
{
    private static readonly TimeSpan s_replyTimeout = TimeSpan.FromSeconds(5);

    private readonly IDaemonUnderTest _daemon;
    private readonly string _rings;
    private readonly RawConnection _dom0;
    private readonly Dictionary<uint, SimulatedGuest> _pages = [];
    private readonly HashSet<uint> _notServed = [];
    private readonly Dictionary<int, List<(uint Id, int Ordinal)>> _transactions = [];
    private readonly Dictionary<int, int> _lastOrdinal = [];
    private readonly List<GuestTranscriptLine> _lines = [];
    private bool _dom0Closed;

    private GuestSequenceStage(IDaemonUnderTest daemon, string rings, RawConnection dom0)
    {
        _daemon = daemon;
        _rings = rings;
        _dom0 = dom0;
    }

    public string Kind => _daemon.Kind;

    /// <summary>Starts a fresh daemon of <paramref name="kind"/>; a reference that cannot run here skips the test.</summary>
    public static async Task<GuestSequenceStage> StartAsync(string kind)
    {
        IDaemonUnderTest daemon;
        string rings;
        if (kind == "ours")
        {
            rings = Directory.CreateTempSubdirectory("xs-guestdiff-").FullName;
            // The write rate limit (XSA-206) only delays a guest's writes while a transaction is open, as C's does;
            // it changes no answer, so it is off here to keep the runs short.
            daemon = await OurDaemon.StartAsync("--sim-dir", rings, "--no-persistence", "--guest-write-rate", "0");
        }
        else
        {
            ReferenceDaemon reference = await ReferenceDaemon.StartOrSkipAsync(kind, rings: true);
            daemon = reference;
            rings = Path.Combine(reference.Home, "rings");
        }
        return new GuestSequenceStage(daemon, rings, await RawConnection.ConnectAsync(daemon));
    }

    public async Task<IReadOnlyList<GuestTranscriptLine>> RunAsync(RandomGuestSequence sequence)
    {
        foreach (GuestStep step in sequence.Toolstack)
        {
            await ExecuteAsync(sequence, -1, step);
        }
        for (int i = 0; i < sequence.Steps.Count; i++)
        {
            await ExecuteAsync(sequence, i, sequence.Steps[i]);
        }
        await FinishAsync(sequence, sequence.Steps.Count);
        return _lines;
    }

    private async Task ExecuteAsync(RandomGuestSequence sequence, int index, GuestStep step)
    {
        (uint txId, int ordinal) = Transaction(step);
        _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Request, step.Describe(ordinal)));
        if (step.Actor == 0)
        {
            await ExecuteAsDom0Async(sequence, index, step, txId);
            return;
        }
        uint domid = sequence.DomidOf(step.Actor);
        if (_notServed.Contains(domid))
        {
            _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Reply, "(not served: not sent)"));
            return;
        }
        RawMessage? reply = GuestRequest(domid, step, txId);
        AddReply(index, step, txId, reply);
        RecordEvents(sequence, index, step.Actor);
    }

    private async Task ExecuteAsDom0Async(RandomGuestSequence sequence, int index, GuestStep step, uint txId)
    {
        if (step.Kind == GuestStepKind.Introduce)
        {
            FreshPageUnlessServed(step.Domid);
        }
        if (_dom0Closed)
        {
            _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Reply, "(dom0's connection is closed: not sent)"));
            return;
        }
        RawMessage? reply = await Dom0RequestAsync(step, txId);
        if (reply is { IsOk: true })
        {
            AfterDomainChange(sequence, step);
        }
        AddReply(index, step, txId, reply);
        await RecordDom0EventsAsync(index, reply);
    }

    private void AddReply(int index, GuestStep step, uint txId, RawMessage? reply)
    {
        _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Reply, reply is null ? "no reply" : Render(step, reply)));
        if (reply is not null)
        {
            TrackTransaction(step, txId, reply);
        }
    }

    /// <summary>The transaction a step runs in (id and ordinal), or (0, 0) outside one.</summary>
    private (uint Id, int Ordinal) Transaction(GuestStep step)
    {
        if (step.TransactionSlot < 0 || !_transactions.TryGetValue(step.Actor, out var open) || open.Count == 0)
        {
            return (0, 0);
        }
        return open[step.TransactionSlot % open.Count];
    }

    private void TrackTransaction(GuestStep step, uint txId, RawMessage reply)
    {
        List<(uint Id, int Ordinal)> open = _transactions.TryGetValue(step.Actor, out var list) ? list : _transactions[step.Actor] = [];
        if (step.Type == XsMessageType.TransactionStart && reply.Type == XsMessageType.TransactionStart)
        {
            int ordinal = _lastOrdinal.GetValueOrDefault(step.Actor) + 1;
            _lastOrdinal[step.Actor] = ordinal;
            open.Add((reply.TransactionId, ordinal));
        }
        else if (step.Type == XsMessageType.TransactionEnd && txId != 0)
        {
            // Ended whatever the answer: a refused commit ends the transaction too.
            open.RemoveAll(t => t.Id == txId);
        }
    }

    /// <summary>
    /// Before INTRODUCE: a domain that is not served gets a fresh zeroed page, as a new domain would; one that is
    /// served keeps its page (INTRODUCE of a connected domain resets its connection).
    /// </summary>
    private void FreshPageUnlessServed(uint domid)
    {
        if (_pages.TryGetValue(domid, out SimulatedGuest? page))
        {
            if (!_notServed.Contains(domid))
            {
                return;
            }
            page.Dispose();
        }
        File.Delete(Path.Combine(_rings, "ring." + domid.ToString(CultureInfo.InvariantCulture)));
        _pages[domid] = SimulatedGuest.Create(_rings, domid);
        _notServed.Add(domid);
    }

    private void AfterDomainChange(RandomGuestSequence sequence, GuestStep step)
    {
        if (step.Kind == GuestStepKind.Introduce)
        {
            _notServed.Remove(step.Domid);
            // A new or reset connection has no transactions.
            int index = sequence.GuestDomids.ToList().IndexOf(step.Domid);
            if (index >= 0)
            {
                _transactions.Remove(index + 1);
            }
        }
        else if (step.Kind == GuestStepKind.Release)
        {
            _notServed.Add(step.Domid);
        }
    }

    /// <summary>The reply to dom0, or null when the daemon closed the socket (it crashed: the run goes on without dom0).</summary>
    private async Task<RawMessage?> Dom0RequestAsync(GuestStep step, uint txId)
    {
        try
        {
            return await _dom0.RequestAsync(step.Type, step.Payload, txId, timeout: s_replyTimeout);
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            _dom0Closed = true;
            return null;
        }
    }

    private RawMessage? GuestRequest(uint domid, GuestStep step, uint txId)
    {
        try
        {
            return _pages[domid].Request(step.Type, step.Payload, txId, s_replyTimeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // The ring's state is unknown from here on: the guest does not act again.
            _notServed.Add(domid);
            return null;
        }
    }

    /// <summary>
    /// The events a guest received with its reply: those the daemon sent before it. Those sent after it (C sends
    /// WATCH's first event after the acknowledgement) come with the guest's next reply, so both daemons' order is
    /// kept.
    /// </summary>
    private void RecordEvents(RandomGuestSequence sequence, int index, int actor)
    {
        SimulatedGuest page = _pages[sequence.DomidOf(actor)];
        while (page.PendingEvents.Count > 0)
        {
            AddEvent(index, actor, page.NextEvent(TimeSpan.Zero)!, "");
        }
    }

    /// <summary>
    /// Dom0's events, read until a round trip after the reply so that none is still on its way; each says whether
    /// it came before or after the reply.
    /// </summary>
    private async Task RecordDom0EventsAsync(int index, RawMessage? reply)
    {
        if (_dom0Closed)
        {
            return;
        }
        await _dom0.SyncAsync();
        foreach (RawMessage e in _dom0.DrainEvents())
        {
            AddEvent(index, 0, e, reply is not null && e.Sequence > reply.Sequence ? " (after the reply)" : "");
        }
    }

    private void AddEvent(int index, int actor, RawMessage e, string when) =>
        _lines.Add(new GuestTranscriptLine(index, null, GuestLineKind.Event, $"{GuestStep.ActorName(actor)} event {GuestText.Strings(e.Payload)}{when}"));

    /// <summary>
    /// After the last step: each guest still served makes one more round trip (which brings every event the daemon
    /// queued for it), dom0 too, then dom0 lists the whole tree with every node's permissions and value.
    /// </summary>
    private async Task FinishAsync(RandomGuestSequence sequence, int index)
    {
        for (int actor = 1; actor <= sequence.GuestDomids.Count; actor++)
        {
            uint domid = sequence.DomidOf(actor);
            if (_notServed.Contains(domid))
            {
                continue;
            }
            var sync = new GuestStep(actor, GuestStepKind.Request, XsMessageType.GetDomainPath, RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture)));
            _lines.Add(new GuestTranscriptLine(index, sync, GuestLineKind.Request, sync.Describe(0)));
            RawMessage? reply = GuestRequest(domid, sync, 0);
            _lines.Add(new GuestTranscriptLine(index, sync, GuestLineKind.Reply, reply is null ? "no reply" : Render(sync, reply)));
            RecordEvents(sequence, index, actor);
        }
        if (_dom0Closed)
        {
            return;
        }
        await RecordDom0EventsAsync(index, null);
        foreach (string special in new[] { "@introduceDomain", "@releaseDomain" })
        {
            await AddNodeAsync(index, special, withValue: false);
        }
        await WalkAsync(index, "/");
    }

    private async Task WalkAsync(int index, string path)
    {
        await AddNodeAsync(index, path, withValue: true);
        RawMessage children = await _dom0.DirectoryAsync(path);
        if (children.IsError)
        {
            return;
        }
        foreach (string child in children.Strings)
        {
            await WalkAsync(index, path == "/" ? "/" + child : path + "/" + child);
        }
    }

    private async Task AddNodeAsync(int index, string path, bool withValue)
    {
        RawMessage perms = await _dom0.GetPermsAsync(path);
        string value = "";
        if (withValue)
        {
            RawMessage read = await _dom0.ReadAsync(path);
            value = " = " + (read.IsError ? read.Describe() : GuestText.Value(read.Payload));
        }
        _lines.Add(new GuestTranscriptLine(index, null, GuestLineKind.Node, $"node {path} [{GuestText.Strings(perms.Payload)}]{value}"));
    }

    private string Render(GuestStep step, RawMessage reply)
    {
        if (reply.IsError)
        {
            return "ERROR " + reply.ErrorName;
        }
        string type = reply.Type == step.Type ? "" : reply.Type + " ";
        return reply.Type switch
        {
            XsMessageType.Read => type + GuestText.Value(reply.Payload),
            XsMessageType.TransactionStart => $"{type}tx#{_lastOrdinal.GetValueOrDefault(step.Actor) + 1}",
            // The generation is each daemon's own counter (docs/COMPATIBILITY.md, engine rule "DIRECTORY_PART generation").
            XsMessageType.DirectoryPart => type + "<generation>|" + GuestText.Strings(reply.Payload.AsSpan(Array.IndexOf(reply.Payload, (byte)0) + 1)),
            _ => type + GuestText.Strings(reply.Payload),
        };
    }

    /// <summary>
    /// Stops the daemon. A reference daemon takes up to a few seconds to stop, which the caller may let run in the
    /// background.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        foreach (SimulatedGuest page in _pages.Values)
        {
            page.Dispose();
        }
        await _dom0.DisposeAsync();
        await _daemon.DisposeAsync();
        // Ours: the rings' directory made for it. A reference: the home made for this instance (its rings, socket
        // and log, and links to the one build, which stays), so that hundreds of runs leave nothing behind.
        string directory = _daemon is ReferenceDaemon reference ? reference.Home : _rings;
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp directory is harmless.
        }
    }
}
