using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Xenbus.Clients;
using Xenstore.Xenbus.Upstream;

namespace Xenstore.Xenbus.Mux;

/// <summary>
/// Many local clients over one upstream connection, with the semantics of a direct socket connection for each:
/// requests of every client go upstream under xenbusd's own req_ids (any number in flight, within the limits),
/// replies return to their client under its req_id and in its order; transactions are numbered per client and
/// mapped to the daemon's; watches are registered under per-client tokens and their events routed back;
/// RESET_WATCHES and a client's close undo that client's state only. It is driven by the event loop's one thread
/// (<see cref="Loop.EventLoop"/>): the loop reports what happened (a client's request or close, the upstream's
/// messages, its coming and going, time passing), then calls <see cref="Pump"/>; nothing here does I/O or blocks,
/// so there are no locks and no races between a reply and a close.
/// </summary>
internal sealed partial class Multiplexer
{
    private readonly XenbusSettings _settings;
    private readonly Limits _limits;
    private readonly ILogger _logger;
    private readonly UpstreamLink _upstream;
    private readonly Dictionary<ClientConnection, ClientState> _clients = [];
    private readonly Dictionary<int, ClientState> _clientsById = [];
    private readonly Dictionary<uint, InFlightRequest> _inFlight = [];
    private readonly Queue<ClientState> _ready = new();
    private readonly LinkedList<InFlightRequest> _internal = new();
    private uint _nextWireId = (uint)Random.Shared.Next();
    private long _sequence;

    public Multiplexer(XenbusSettings settings, UpstreamLink upstream, ILogger logger)
    {
        _settings = settings;
        _limits = Limits.For(settings);
        _upstream = upstream;
        _logger = logger;
        _downSince = Now;
    }

    public Limits Limits => _limits;

    private static long Now => Environment.TickCount64;

    public void OnClientOpened(ClientConnection connection)
    {
        var state = new ClientState(connection);
        _clients[connection] = state;
        _clientsById[state.Id] = state;
    }

    private bool CanSend => _up && _inFlight.Count < _limits.InFlight;

    /// <summary>
    /// Sends what may go: xenbusd's own requests first (cleanup, re-registration, replays), then one request per
    /// ready client in turn, so a client with a thousand queued requests does not hold the others back.
    /// </summary>
    public void Pump()
    {
        if (!_up)
        {
            if (_failWhileDown)
            {
                FailWaitingRequests();
            }
            return;
        }
        while (_internal.First is { } first && CanSend)
        {
            _internal.RemoveFirst();
            Transmit(first.Value);
        }
        if (_internal.Count > 0)
        {
            return;
        }
        // Each turn sends one request, or takes the client out of the queue (drained or parked), or stops.
        while (_ready.Count > 0)
        {
            ClientState client = _ready.Dequeue();
            client.Scheduled = false;
            if (client.Closed)
            {
                continue;
            }
            StepResult result = Step(client);
            if (result == StepResult.Sent)
            {
                Schedule(client);
            }
            else if (result == StepResult.Stalled)
            {
                // The upstream is full: the client keeps its turn for when a reply frees a place.
                Schedule(client);
                break;
            }
        }
    }

    private void Schedule(ClientState client)
    {
        if (!client.Scheduled && !client.Closed && client.Waiting.Count > 0)
        {
            client.Scheduled = true;
            _ready.Enqueue(client);
        }
    }

    /// <summary>Lets every waiting client try again (a limit or a barrier may have cleared).</summary>
    private void RescheduleParked()
    {
        foreach (ClientState client in _clients.Values)
        {
            if (client.Parked)
            {
                client.Parked = false;
                Schedule(client);
            }
        }
    }

    /// <summary>Gives a request its wire id and sends it.</summary>
    private void Transmit(InFlightRequest request)
    {
        do
        {
            _nextWireId++;
        }
        while (_inFlight.ContainsKey(_nextWireId));
        request.WireId = _nextWireId;
        request.Sequence = ++_sequence;
        request.SentAt = Now;
        request.Session = _session;
        _inFlight[request.WireId] = request;
        _upstream.Send(_link, request.Frame());
    }

    /// <summary>Queues a request of xenbusd's own, sent before any client request.</summary>
    private void SendInternal(InternalPurpose purpose, XsMessageType type, uint upstreamTx, byte[] payload,
        TransactionEntry? transaction = null, WatchEntry? watch = null, bool counted = false)
    {
        _internal.AddLast(new InFlightRequest
        {
            Client = null,
            Original = default,
            Type = type,
            UpstreamTx = upstreamTx,
            Payload = payload,
            Purpose = purpose,
            Transaction = transaction,
            Watch = watch,
            Counted = counted,
        });
    }

    /// <summary>Puts a reply in the client's slot and sends whatever is now due, in order.</summary>
    private static void Fill(ClientState client, ReplySlot slot, byte[] message)
    {
        slot.Message = message;
        while (client.Slots.TryPeek(out ReplySlot? head) && head.Message is { } ready)
        {
            client.Slots.Dequeue();
            if (!client.Closed)
            {
                client.Connection.Send(ready);
                client.Connection.RequestDone();
            }
        }
    }

    /// <summary>Answers a request locally, in the client's order.</summary>
    private static void Answer(ClientState client, byte[] message)
    {
        var slot = new ReplySlot();
        client.Slots.Enqueue(slot);
        Fill(client, slot, message);
    }
}
