using System.Text;
using Xenstore.Protocol;

namespace Xenstore.TestKit.Engine;

/// <summary>
/// One client connection to the engine: sends requests, returns replies, and collects the watch events addressed
/// to it (including events caused by other connections).
/// </summary>
public sealed class TestConnection(EngineHarness harness, int id, uint domid)
{
    private readonly List<WatchEvent> _events = [];
    private int _seen;
    private uint _nextReqId = 1;

    public int Id { get; } = id;

    public uint Domid { get; } = domid;

    /// <summary>Sends a raw request and returns its reply.</summary>
    public Reply Raw(XsMessageType type, byte[] payload, uint tx = 0)
    {
        Collect();
        uint reqId = _nextReqId++;
        int before = harness.Output.Messages.Count;
        harness.Engine.Process(Id, new XsHeader(type, reqId, tx, (uint)payload.Length), payload);
        RecordedMessage? reply = null;
        var eventsBefore = new List<WatchEvent>();
        var eventsAfter = new List<WatchEvent>();
        for (int i = before; i < harness.Output.Messages.Count; i++)
        {
            RecordedMessage m = harness.Output.Messages[i];
            if (m.ConnectionId != Id)
            {
                continue;
            }
            if (m.IsEvent)
            {
                (reply is null ? eventsBefore : eventsAfter).Add(ToEvent(m));
            }
            else
            {
                Assert.Null(reply);
                reply = m;
            }
        }
        _seen = harness.Output.Messages.Count;
        _events.AddRange(eventsBefore);
        _events.AddRange(eventsAfter);
        Assert.NotNull(reply);
        Assert.Equal(reqId, reply.ReqId);
        Assert.Equal(tx, reply.TxId);
        Assert.True(reply.Type == type || reply.Type == XsMessageType.Error, $"reply type {reply.Type} to {type}");
        return new Reply(reply, eventsBefore, eventsAfter);
    }

    /// <summary>Sends a request whose arguments are each NUL-terminated.</summary>
    public Reply Request(XsMessageType type, params string[] args) => RequestIn(0, type, args);

    public Reply RequestIn(uint tx, XsMessageType type, params string[] args) =>
        Raw(type, Encoding.Latin1.GetBytes(string.Concat(args.Select(a => a + "\0"))), tx);

    public Reply Read(string path, uint tx = 0) => RequestIn(tx, XsMessageType.Read, path);

    /// <summary>WRITE: the value is not NUL-terminated on the wire.</summary>
    public Reply Write(string path, string value, uint tx = 0) =>
        Raw(XsMessageType.Write, Encoding.Latin1.GetBytes(path + "\0" + value), tx);

    public Reply Mkdir(string path, uint tx = 0) => RequestIn(tx, XsMessageType.Mkdir, path);

    public Reply Rm(string path, uint tx = 0) => RequestIn(tx, XsMessageType.Rm, path);

    public Reply Directory(string path, uint tx = 0) => RequestIn(tx, XsMessageType.Directory, path);

    public Reply DirectoryPart(string path, long offset, uint tx = 0) =>
        RequestIn(tx, XsMessageType.DirectoryPart, path, offset.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Reply GetPerms(string path, uint tx = 0) => RequestIn(tx, XsMessageType.GetPerms, path);

    public Reply SetPerms(string path, params string[] perms) => RequestIn(0, XsMessageType.SetPerms, [path, .. perms]);

    public Reply SetPermsIn(uint tx, string path, params string[] perms) => RequestIn(tx, XsMessageType.SetPerms, [path, .. perms]);

    public Reply Watch(string path, string token) => Request(XsMessageType.Watch, path, token);

    public Reply Unwatch(string path, string token) => Request(XsMessageType.Unwatch, path, token);

    /// <summary>Starts a transaction and returns its id.</summary>
    public uint Start()
    {
        Reply reply = Request(XsMessageType.TransactionStart, "").Success();
        return uint.Parse(reply.Text.TrimEnd('\0'), System.Globalization.CultureInfo.InvariantCulture);
    }

    public Reply Commit(uint tx) => RequestIn(tx, XsMessageType.TransactionEnd, "T");

    public Reply Abort(uint tx) => RequestIn(tx, XsMessageType.TransactionEnd, "F");

    /// <summary>Watches a path and discards the initial event.</summary>
    public void WatchQuietly(string path, string token)
    {
        Watch(path, token).Ok();
        TakeEvents();
    }

    /// <summary>Every watch event received since the last call, in order.</summary>
    public List<WatchEvent> TakeEvents()
    {
        Collect();
        var taken = new List<WatchEvent>(_events);
        _events.Clear();
        return taken;
    }

    /// <summary>The paths of <see cref="TakeEvents"/>.</summary>
    public List<string> TakeEventPaths() => TakeEvents().Select(e => e.Path).ToList();

    private void Collect()
    {
        List<RecordedMessage> all = harness.Output.Messages;
        for (; _seen < all.Count; _seen++)
        {
            if (all[_seen].ConnectionId == Id)
            {
                Assert.True(all[_seen].IsEvent, $"unexpected unsolicited message {all[_seen]}");
                _events.Add(ToEvent(all[_seen]));
            }
        }
    }

    private static WatchEvent ToEvent(RecordedMessage m)
    {
        Assert.Equal(0u, m.ReqId);
        Assert.Equal(0u, m.TxId);
        string text = m.Text;
        Assert.EndsWith("\0", text, StringComparison.Ordinal);
        string[] parts = text[..^1].Split('\0');
        Assert.Equal(2, parts.Length);
        return new WatchEvent(parts[0], parts[1]);
    }
}
