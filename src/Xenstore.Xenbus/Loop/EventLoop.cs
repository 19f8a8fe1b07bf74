using Microsoft.Extensions.Logging;
using Xenstore.Client.Internal;
using Xenstore.Protocol;
using Xenstore.Xenbus.Clients;
using Xenstore.Xenbus.Mux;
using Xenstore.Xenbus.Upstream;

namespace Xenstore.Xenbus.Loop;

/// <summary>
/// xenbusd's one thread, shaped like the daemon's store thread: it waits in epoll on the listening socket, every
/// client's socket and the upstream (its socket, the device, or the ring's notification FIFO; a ring whose daemon
/// does not notify is also looked at on a short timer), reads whatever is ready, lets the multiplexer route it, and
/// writes the results directly, non-blocking: one upstream write per pass, one send per client with output. A
/// request's round trip costs this thread one wake-up for the request and one for the reply, and crosses no queue
/// between threads. Only opening the upstream (connect, the ring's handshake, back-off) runs elsewhere; the opened
/// connection is handed over through <see cref="UpstreamLink.TryTakeOpened"/> and a wake-up.
/// </summary>
internal sealed class EventLoop : IDisposable
{
    private const long ListenerToken = 1;
    private const long UpstreamToken = 2;
    private const long FirstClientToken = 16;
    private const int TickMs = 100;

    /// <summary>How long a full backlog that cannot be accepted (out of descriptors) is left alone.</summary>
    private const int AcceptPauseMs = 10;

    private readonly Epoll _epoll = new();
    private readonly Multiplexer _multiplexer;
    private readonly UpstreamLink _upstream;
    private readonly ClientListener _listener;
    private readonly int _outputLimit;
    private readonly ILogger _logger;
    private readonly Dictionary<long, ClientConnection> _clients = [];
    private readonly List<ClientConnection> _touched = [];
    private readonly byte[] _scratch = new byte[64 * 1024];
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<long, uint> _onReady;
    private readonly Action<ClientConnection> _onTouched;
    private readonly Action<ClientConnection, XsHeader, byte[]> _onRequest;
    private readonly Action<XsHeader, byte[]> _onUpstreamMessage;
    private int _nextClientId;
    private bool _upstreamReady;
    private bool _upstreamRegistered;
    private uint _upstreamInterest;
    private long _acceptPausedUntil = -1;

    public EventLoop(Multiplexer multiplexer, UpstreamLink upstream, ClientListener listener, int outputLimit, ILogger logger)
    {
        _multiplexer = multiplexer;
        _upstream = upstream;
        _listener = listener;
        _outputLimit = outputLimit;
        _logger = logger;
        _onReady = OnReady;
        _onTouched = _touched.Add;
        _onRequest = _multiplexer.OnClientRequest;
        _onUpstreamMessage = (header, payload) => _multiplexer.OnUpstreamMessage(_upstream.Link, header, payload);
    }

    /// <summary>Serves on the calling thread until <see cref="Stop"/>.</summary>
    public void Run()
    {
        _epoll.Add(_listener.Descriptor, Epoll.In, ListenerToken);
        _upstream.StartConnecting(_epoll.Wake, _stop.Token);
        long nextTick = Now + TickMs;
        while (!_stop.IsCancellationRequested)
        {
            _upstreamReady = false;
            _epoll.Wait(_onReady, Timeout(nextTick));
            try
            {
                Pass(ref nextTick);
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                // A bug must not stop every client: what this pass was doing is lost, the loop carries on.
                Log.LoopError(_logger, failure);
            }
        }
        foreach (ClientConnection client in _clients.Values)
        {
            _ = Libc.Close(client.Descriptor);
        }
        _clients.Clear();
    }

    /// <summary>From any thread: the loop returns after its current pass.</summary>
    public void Stop()
    {
        _stop.Cancel();
        _epoll.Wake();
    }

    private static long Now => Environment.TickCount64;

    private void Pass(ref long nextTick)
    {
        if (_upstream.TryTakeOpened())
        {
            RegisterUpstream();
            _multiplexer.OnUpstreamUp(_upstream.Link);
        }
        if (_upstream.Transport is { } transport && (_upstreamReady || transport.LookAgainMs >= 0))
        {
            if (_upstreamReady)
            {
                transport.OnReady();
            }
            if (_upstream.Receive(_onUpstreamMessage) is { } lost)
            {
                DropUpstream(lost);
            }
        }
        long now = Now;
        if (now >= nextTick)
        {
            nextTick = now + TickMs;
            _multiplexer.OnTick();
            if (_acceptPausedUntil >= 0 && now >= _acceptPausedUntil)
            {
                _acceptPausedUntil = -1;
                _epoll.Modify(_listener.Descriptor, Epoll.In, ListenerToken);
            }
        }
        Settle();
    }

    /// <summary>
    /// Lets the multiplexer send what may go, then looks at every client it touched (output to send, requests held
    /// back by the per-client bound, a close) until nothing changes, then writes the upstream's share.
    /// </summary>
    private void Settle()
    {
        while (true)
        {
            _multiplexer.Pump();
            if (_upstream.ResetRequested)
            {
                DropUpstream("no reply within the upstream timeout");
                continue;
            }
            if (_touched.Count == 0)
            {
                break;
            }
            bool more = false;
            // Looking at a client may touch others (a close ends its state; a request answered locally).
            for (int i = 0; i < _touched.Count; i++)
            {
                ClientConnection client = _touched[i];
                client.Touched = false;
                if (client.IsClosed)
                {
                    if (_clients.Remove(Token(client)))
                    {
                        _epoll.Remove(client.Descriptor);
                        _ = Libc.Close(client.Descriptor);
                        _multiplexer.OnClientClosed(client);
                        more = true;
                    }
                    continue;
                }
                more |= client.TakeRequests(_onRequest);
                client.Flush();
                UpdateInterest(client);
            }
            _touched.Clear();
            if (!more)
            {
                break;
            }
        }
        if (_upstream.Transport is not null && _upstream.HasOutput)
        {
            if (_upstream.Flush() is { } lost)
            {
                DropUpstream(lost);
                // The multiplexer fails or replays what was on its way; their answers go out next pass.
                Settle();
                return;
            }
        }
        UpdateUpstreamInterest();
    }

    private void OnReady(long token, uint events)
    {
        switch (token)
        {
            case Epoll.WakeToken:
                return;
            case ListenerToken:
                Accept();
                return;
            case UpstreamToken:
                _upstreamReady = true;
                return;
        }
        if (!_clients.TryGetValue(token, out ClientConnection? client) || client.IsClosed)
        {
            return;
        }
        if ((events & Epoll.Out) != 0)
        {
            client.Flush();
        }
        if ((events & (Epoll.In | Epoll.HangUp | Epoll.Error)) != 0)
        {
            // At the end of its stream the socket may still hold requests sent just before it: they are taken first,
            // as the daemon would execute them.
            bool open = client.Receive();
            client.TakeRequests(_onRequest);
            if (client.EndOfInput)
            {
                client.Close("end of stream");
            }
            else if (open && (events & (Epoll.HangUp | Epoll.Error)) != 0 && client.WantedInterest == 0)
            {
                // Hung up while it may send nothing more: nothing would ever end the hang-up's reports.
                client.Close("hung up");
            }
        }
        if (!client.IsClosed && !client.Touched)
        {
            UpdateInterest(client);
        }
    }

    private void Accept()
    {
        while (true)
        {
            int descriptor = _listener.Accept();
            if (descriptor == -1)
            {
                return;
            }
            if (descriptor == -2)
            {
                _acceptPausedUntil = Now + AcceptPauseMs;
                _epoll.Modify(_listener.Descriptor, 0, ListenerToken);
                return;
            }
            var client = new ClientConnection(++_nextClientId, descriptor, _outputLimit, _scratch, _logger, _onTouched);
            _clients[Token(client)] = client;
            client.Interest = Epoll.In;
            _epoll.Add(descriptor, Epoll.In, Token(client));
            Log.ClientOpened(_logger, client.Id);
            _multiplexer.OnClientOpened(client);
        }
    }

    private void UpdateInterest(ClientConnection client)
    {
        uint wanted = client.WantedInterest;
        if (wanted != client.Interest)
        {
            client.Interest = wanted;
            _epoll.Modify(client.Descriptor, wanted, Token(client));
        }
    }

    private void RegisterUpstream()
    {
        IPolledTransport transport = _upstream.Transport!;
        _upstreamInterest = Epoll.In;
        _epoll.Add(transport.Descriptor, _upstreamInterest, UpstreamToken);
        _upstreamRegistered = true;
    }

    private void UpdateUpstreamInterest()
    {
        if (_upstream.Transport is not { } transport || !transport.PollsForOutput)
        {
            return;
        }
        uint wanted = Epoll.In | (_upstream.HasOutput ? Epoll.Out : 0);
        if (wanted != _upstreamInterest)
        {
            _upstreamInterest = wanted;
            _epoll.Modify(transport.Descriptor, wanted, UpstreamToken);
        }
    }

    private void DropUpstream(string reason)
    {
        if (_upstreamRegistered && _upstream.Transport is { } transport)
        {
            _epoll.Remove(transport.Descriptor);
            _upstreamRegistered = false;
        }
        int link = _upstream.Link;
        _upstream.Drop(reason);
        _multiplexer.OnUpstreamDown(link);
        _upstream.StartConnecting(_epoll.Wake, _stop.Token);
    }

    /// <summary>How long the next wait may last: to the next tick, or sooner when the upstream must be looked at.</summary>
    private int Timeout(long nextTick)
    {
        long timeout = Math.Max(0, nextTick - Now);
        if (_upstream.Transport is { } transport)
        {
            if (transport.LookAgainMs >= 0)
            {
                timeout = Math.Min(timeout, transport.LookAgainMs);
            }
            if (_upstream.HasOutput && !transport.PollsForOutput)
            {
                // A full ring frees room as the daemon reads, notifying or not.
                timeout = Math.Min(timeout, 1);
            }
        }
        return (int)timeout;
    }

    private static long Token(ClientConnection client) => FirstClientToken + client.Id;

    public void Dispose()
    {
        _epoll.Dispose();
        _stop.Dispose();
    }
}
