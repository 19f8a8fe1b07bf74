using Xenstore.Protocol;

namespace Xenstore.Xenbus.Mux;

/// <summary>
/// The upstream session: what the daemon remembers of xenbusd's connection (watches, transactions). A session ends
/// when the link is lost, or when the probe finds that the daemon forgot it (a restart behind an unchanged ring).
/// Then requests on their way are replayed when that is safe and fail with EIO when their outcome is unknown,
/// transactions become stale (EAGAIN at commit), and every client's watches are registered again.
/// </summary>
internal sealed partial class Multiplexer
{
    /// <summary>xenbusd's own watch: registering it again answers EEXIST for as long as the daemon remembers us.</summary>
    private static readonly byte[] s_probePayload = "xenbusd-session\0xenbusd-probe\0"u8.ToArray();

    /// <summary>The anchor: a second watch of xenbusd's own, looked at only to confirm a probe's news.</summary>
    private static readonly byte[] s_anchorPayload = "xenbusd-session\0xenbusd-anchor\0"u8.ToArray();

    private bool _up;
    private int _link = -1;
    private int _session;
    private long _downSince;
    private bool _failWhileDown;
    private int _openTransactions;
    private int _watches;
    private int _unwatchesInFlight;
    private long _lastUpstreamActivity;
    private InFlightRequest? _probe;
    private long _lastProbe;
    private bool _sessionConfirmed;

    private bool ProbeEnabled => _settings.ProbeInterval > TimeSpan.Zero;

    public void OnUpstreamUp(int link)
    {
        _link = link;
        _up = true;
        _failWhileDown = false;
        _lastUpstreamActivity = Now;
        StartSession();
    }

    public void OnUpstreamDown(int link)
    {
        if (link != _link || !_up)
        {
            return;
        }
        _up = false;
        _downSince = Now;
        EndSession(long.MaxValue);
    }

    /// <summary>
    /// Forgets what the daemon forgot: requests sent before <paramref name="sentBefore"/> are replayed or failed,
    /// the limits' counts start again from zero.
    /// </summary>
    private void EndSession(long sentBefore)
    {
        var lost = _inFlight.Values.Where(r => r.Sequence < sentBefore).OrderBy(r => r.Sequence).ToList();
        foreach (InFlightRequest request in lost)
        {
            _inFlight.Remove(request.WireId);
        }
        // Everything still in flight belongs to the new session; counts start from it.
        _openTransactions = 0;
        _watches = 0;
        _unwatchesInFlight = 0;
        foreach (InFlightRequest request in _inFlight.Values)
        {
            if (request.Counted && request.Type == XsMessageType.TransactionStart)
            {
                _openTransactions++;
            }
            else if (request.Counted && request.Type == XsMessageType.Watch)
            {
                _watches++;
            }
            else if (request.Type == XsMessageType.Unwatch)
            {
                _unwatchesInFlight++;
            }
        }
        _probe = null;
        var replays = new List<InFlightRequest>();
        foreach (InFlightRequest request in lost)
        {
            if (request.Client is not { } client)
            {
                // Cleanup and re-registration concern the old session only; the probe starts again.
                continue;
            }
            if (request.Type == XsMessageType.TransactionStart && request.Counted)
            {
                client.StartsInFlight--;
            }
            if (client.Closed)
            {
                client.InFlight--;
                continue;
            }
            if (request.Replayable)
            {
                replays.Add(request);
                continue;
            }
            client.InFlight--;
            if (request.Transaction is { } ending)
            {
                client.Transactions.Remove(ending.ClientId);
            }
            // Inside a transaction: the transaction is gone, retry it all. Outside: the outcome is unknown.
            XsError error = request.UpstreamTx != 0 && request.Type != XsMessageType.TransactionEnd ? XsError.EAGAIN : XsError.EIO;
            Fill(client, request.Slot!, Messages.Error(request.Original, error));
        }
        // Replays go first when the session starts, before any request still waiting in a client's queue.
        for (int i = replays.Count - 1; i >= 0; i--)
        {
            InFlightRequest replay = replays[i];
            replay.Counted = false;
            _internal.AddFirst(replay);
        }
        _session++;
        RescheduleParked();
    }

    /// <summary>A new session: the probe, every client's watches, then the replays (queued by EndSession).</summary>
    private void StartSession()
    {
        _sessionConfirmed = false;
        // Replayed requests and queued cleanup of the old session are in _internal; cleanup is moot now.
        var keep = _internal.Where(r => r.Client is not null).ToList();
        _internal.Clear();
        var front = new List<InFlightRequest>();
        if (ProbeEnabled)
        {
            front.Add(NewProbe());
            front.Add(NewAnchor(probeSequence: 0));
        }
        foreach (ClientState client in _clients.Values)
        {
            foreach (WatchEntry watch in client.Watches)
            {
                watch.Session = _session;
                _watches++;
                front.Add(new InFlightRequest
                {
                    Client = null,
                    Original = default,
                    Type = XsMessageType.Watch,
                    UpstreamTx = 0,
                    Payload = watch.RegisterPayload(),
                    Purpose = InternalPurpose.Reregister,
                    Watch = watch,
                    Counted = true,
                });
            }
        }
        foreach (InFlightRequest request in front)
        {
            _internal.AddLast(request);
        }
        foreach (InFlightRequest replay in keep)
        {
            CountAtSend(replay);
            _internal.AddLast(replay);
        }
    }

    private InFlightRequest NewProbe()
    {
        _probe = new InFlightRequest
        {
            Client = null,
            Original = default,
            Type = XsMessageType.Watch,
            UpstreamTx = 0,
            Payload = s_probePayload,
            Purpose = InternalPurpose.Probe,
        };
        _lastProbe = Now;
        return _probe;
    }

    private static InFlightRequest NewAnchor(long probeSequence) => new()
    {
        Client = null,
        Original = default,
        Type = XsMessageType.Watch,
        UpstreamTx = 0,
        Payload = s_anchorPayload,
        Purpose = InternalPurpose.Anchor,
        ProbeSequence = probeSequence,
    };

    /// <summary>The anchor's answer after an accepted probe: accepted too means the daemon really forgot us.</summary>
    private void OnAnchorReply(InFlightRequest anchor, bool failed)
    {
        if (anchor.ProbeSequence == 0 || failed || anchor.Session != _session)
        {
            return;
        }
        // The daemon accepted our own watches again: it no longer knows this connection (it restarted and serves
        // the same ring afresh). What was sent before the probe is lost with the old session.
        Log.SessionReset(_logger);
        EndSession(anchor.ProbeSequence);
        StartSession();
    }

    private void OnProbeReply(InFlightRequest probe, bool failed, XsError error)
    {
        if (probe != _probe)
        {
            return;
        }
        _probe = null;
        if (!_sessionConfirmed)
        {
            _sessionConfirmed = !failed || error == XsError.EEXIST;
            return;
        }
        if (!failed)
        {
            // Accepted: either the daemon forgot us, or the probe overtook the daemon's own re-registration of
            // handed-over watches. The anchor, sent after this answer, tells which.
            _internal.AddFirst(NewAnchor(probe.Sequence));
        }
    }

    /// <summary>Time passed (the loop calls it every 100 ms): deadlines (admission, silence, absence) and the probe.</summary>
    public void OnTick()
    {
        long now = Now;
        long timeout = (long)_settings.UpstreamTimeout.TotalMilliseconds;
        if (_up)
        {
            if (ProbeEnabled && _probe is null && now - _lastProbe >= (long)_settings.ProbeInterval.TotalMilliseconds)
            {
                _internal.AddFirst(NewProbe());
            }
            if (_inFlight.Count > 0 && now - _lastUpstreamActivity > timeout
                && _inFlight.Values.Min(r => r.SentAt) < now - timeout)
            {
                Log.UpstreamSilent(_logger, _settings.UpstreamTimeout.TotalSeconds);
                _upstream.Reset(_link);
            }
        }
        else if (!_failWhileDown && now - _downSince > timeout)
        {
            _failWhileDown = true;
        }
        // Transaction starts waiting for a slot re-check their deadline.
        RescheduleParked();
    }

    /// <summary>The upstream has been gone too long: requests that need it fail now, rather than hang.</summary>
    private void FailWaitingRequests()
    {
        int failed = 0;
        foreach (InFlightRequest request in _internal)
        {
            if (request.Client is { Closed: false } client && request.Slot is { } slot)
            {
                client.InFlight--;
                Fill(client, slot, Messages.Error(request.Original, XsError.EIO));
                failed++;
            }
        }
        _internal.Clear();
        foreach (ClientState client in _clients.Values)
        {
            while (client.Waiting.TryDequeue(out (XsHeader Header, byte[] Payload) next))
            {
                if (next.Header.Type == XsMessageType.ResetWatches)
                {
                    ResetClient(client);
                    Answer(client, Messages.Ok(next.Header));
                    continue;
                }
                Answer(client, Messages.Error(next.Header, XsError.EIO));
                failed++;
            }
            client.Parked = false;
        }
        if (failed > 0)
        {
            Log.FailedWhileDown(_logger, failed);
        }
    }
}
