using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// Runs one scenario against one daemon: opens named connections, sends requests, and writes everything into a
/// <see cref="Transcript"/>. Payloads are C# strings where <c>\0</c> is a NUL; <c>$B</c> is the scenario's own
/// absolute base path and <c>$R</c> its own relative name (under /local/domain/0), so scenarios can share a daemon.
/// </summary>
public sealed class Session : IAsyncDisposable
{
    private readonly IDaemonUnderTest _daemon;
    private readonly List<Conn> _connections = [];

    public Session(IDaemonUnderTest daemon, string uniqueName)
    {
        _daemon = daemon;
        Base = "/t/" + uniqueName;
        Relative = "r" + uniqueName;
        Transcript.Substitute(Base, "$B");
        Transcript.Substitute(Relative, "$R");
    }

    public string Kind => _daemon.Kind;

    public string Base { get; }

    public string Relative { get; }

    public Transcript Transcript { get; } = new();

    public string Expand(string text) => text.Replace("$B", Base, StringComparison.Ordinal).Replace("$R", Relative, StringComparison.Ordinal);

    public byte[] Bytes(string text) => Encoding.Latin1.GetBytes(Expand(text));

    /// <summary>Opens connection <paramref name="name"/> (A, B, …) to the daemon.</summary>
    public async Task<Conn> OpenAsync(string name = "A")
    {
        var conn = new Conn(this, name, await RawConnection.ConnectAsync(_daemon));
        _connections.Add(conn);
        return conn;
    }

    /// <summary>Adds a free-form line (a comment or a checked fact) to the transcript.</summary>
    public void Note(string line) => Transcript.Add("# " + line);

    public async ValueTask DisposeAsync()
    {
        foreach (Conn c in _connections)
        {
            await c.Raw.DisposeAsync();
        }
    }

    /// <summary>One connection of a session.</summary>
    public sealed class Conn(Session session, string name, RawConnection raw)
    {
        public RawConnection Raw { get; } = raw;

        private long _rendered = -1;

        /// <summary>Sends a request and records it, every event that arrived before the reply, and the reply.</summary>
        public Task<RawMessage?> Req(XsMessageType type, string payload, uint tx = 0) => ReqBytes(type, session.Bytes(payload), tx);

        public async Task<RawMessage?> ReqBytes(XsMessageType type, byte[] payload, uint tx = 0, string? shownAs = null)
        {
            session.Transcript.Add($"{name}> {type}{(tx != 0 ? $"[tx {tx}]" : "")} {shownAs ?? Transcript.Quote(payload)}");
            uint reqId = await Raw.SendRequestAsync(type, payload, tx);
            RawMessage reply;
            try
            {
                reply = await Raw.NextReplyAsync();
            }
            catch (IOException)
            {
                FlushEvents(long.MaxValue);
                session.Transcript.Add($"{name}< closed");
                return null;
            }
            FlushEvents(reply.Sequence);
            session.Transcript.Add($"{name}< {Transcript.Render(reply, type, reqId, tx)}");
            _rendered = reply.Sequence;
            return reply;
        }

        /// <summary>Starts a transaction and returns its id (0 when refused); the reply is recorded like any other.</summary>
        public async Task<uint> Start()
        {
            RawMessage? reply = await Req(XsMessageType.TransactionStart, "\0");
            return reply is { IsError: false } ? reply.TransactionId : 0;
        }

        /// <summary>
        /// Records every event that has reached this connection so far, without recording the round trip used to
        /// make sure they have (see <see cref="RawConnection.SyncAsync"/>).
        /// </summary>
        public async Task Events()
        {
            await Raw.SyncAsync();
            FlushEvents(long.MaxValue);
            // The sync reply itself is not part of the scenario.
        }

        /// <summary>Sends bytes that need not be a valid message.</summary>
        public async Task SendRaw(byte[] bytes, string description)
        {
            session.Transcript.Add($"{name}> raw {description}");
            await Raw.SendRawAsync(bytes);
        }

        /// <summary>Records whether the daemon closed this connection (waiting generously for it to do so).</summary>
        public async Task Closed(TimeSpan? wait = null)
        {
            bool closed = await Raw.IsClosedAsync(wait ?? TimeSpan.FromSeconds(5));
            session.Transcript.Add($"{name}< {(closed ? "closed" : "still open")}");
        }

        /// <summary>Records the next reply to a request sent with <see cref="SendRaw"/>.</summary>
        public async Task Reply(XsMessageType type, uint reqId, uint tx = 0)
        {
            try
            {
                RawMessage reply = await Raw.NextReplyAsync();
                FlushEvents(reply.Sequence);
                session.Transcript.Add($"{name}< {Transcript.Render(reply, type, reqId, tx)}");
            }
            catch (IOException)
            {
                session.Transcript.Add($"{name}< closed");
            }
        }

        private void FlushEvents(long before)
        {
            while (Raw.Events.TryPeek(out RawMessage? e) && e.Sequence < before)
            {
                Raw.Events.TryRead(out _);
                session.Transcript.Add($"{name}< {Transcript.Render(e, XsMessageType.WatchEvent, 0, 0)}");
            }
        }
    }
}
