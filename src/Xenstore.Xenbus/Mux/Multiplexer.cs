using System.Diagnostics;
using System.Threading.Channels;
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
/// RESET_WATCHES and a client's close undo that client's state only. All state belongs to one loop that handles
/// <see cref="MuxEvent"/>s in order, so there are no locks and no races between a reply and a close.
/// </summary>
internal sealed partial class Multiplexer
{
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(100);

    private readonly Channel<MuxEvent> _events = Channel.CreateUnbounded<MuxEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly XenbusSettings _settings;
    private readonly Limits _limits;
    private readonly ILogger _logger;
    private readonly Dictionary<ClientSession, ClientState> _clients = [];
    private readonly Dictionary<int, ClientState> _clientsById = [];
    private readonly Dictionary<uint, InFlightRequest> _inFlight = [];
    private readonly Queue<ClientState> _ready = new();
    private readonly LinkedList<InFlightRequest> _internal = new();
    private UpstreamLink? _upstream;
    private uint _nextWireId = (uint)Random.Shared.Next();
    private long _sequence;

    public Multiplexer(XenbusSettings settings, ILogger logger)
    {
        _settings = settings;
        _limits = Limits.For(settings);
        _logger = logger;
    }

    public Limits Limits => _limits;

    public void Post(MuxEvent e) => _events.Writer.TryWrite(e);

    public async Task RunAsync(UpstreamLink upstream, CancellationToken cancellationToken)
    {
        _upstream = upstream;
        _downSince = Now;
        using var ticker = new PeriodicTimer(s_tick);
        Task ticks = Task.Run(async () =>
        {
            try
            {
                while (await ticker.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    Post(new MuxEvent.Tick());
                }
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }, CancellationToken.None);
        try
        {
            await foreach (MuxEvent e in _events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    Handle(e);
                }
                catch (Exception failure) when (failure is not OutOfMemoryException)
                {
                    // A bug must not stop every client: the event is lost, the loop carries on.
                    Log.LoopError(_logger, e.GetType().Name, failure);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        await ticks.ConfigureAwait(false);
    }

    private static long Now => Environment.TickCount64;

    private void Handle(MuxEvent e)
    {
        switch (e)
        {
            case MuxEvent.ClientOpened opened:
                var state = new ClientState(opened.Session);
                _clients[opened.Session] = state;
                _clientsById[state.Id] = state;
                break;
            case MuxEvent.ClientRequest request:
                OnClientRequest(request);
                break;
            case MuxEvent.ClientClosed closed:
                OnClientClosed(closed.Session);
                break;
            case MuxEvent.UpstreamUp up:
                OnUpstreamUp(up.Link);
                break;
            case MuxEvent.UpstreamMessage message:
                OnUpstreamMessage(message);
                break;
            case MuxEvent.UpstreamDown down:
                OnUpstreamDown(down.Link);
                break;
            case MuxEvent.Tick:
                OnTick();
                break;
            default:
                throw new UnreachableException(e.GetType().Name);
        }
        Pump();
    }

    private bool CanSend => _up && _inFlight.Count < _limits.InFlight;

    /// <summary>
    /// Sends what may go: xenbusd's own requests first (cleanup, re-registration, replays), then one request per
    /// ready client in turn, so a client with a thousand queued requests does not hold the others back.
    /// </summary>
    private void Pump()
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
        _upstream!.Send(_link, request.Frame());
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
                client.Session.Send(ready);
                client.Session.RequestDone();
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
