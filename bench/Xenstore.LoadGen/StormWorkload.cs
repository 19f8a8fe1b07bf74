using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>
/// The domain-creation storm: T toolstack connections each create domains the way a toolstack does (one
/// transaction of ~40 writes under the domain's home and ~20 under its vif and vbd backend directories, two
/// SET_PERMS, retried whole on EAGAIN, one request in flight), while two backend connections watch the backend
/// directories. Then every domain is destroyed. Every watch event must arrive exactly once.
/// </summary>
internal static class StormWorkload
{
    private const string VifRoot = "/local/domain/0/backend/vif";
    private const string VbdRoot = "/local/domain/0/backend/vbd";
    private const int WarmupDomains = 4;
    private const int WarmupDomidBase = 30000;
    private static readonly TimeSpan s_drainTimeout = TimeSpan.FromSeconds(30);

    private readonly record struct Request(XsMessageType Type, byte[] Payload);

    /// <summary>
    /// One toolstack connection: creates the domains its source hands out, one request in flight, each in one
    /// transaction retried whole on EAGAIN.
    /// </summary>
    private sealed class Toolstack(XsConnection connection, Func<uint?> nextDomid) : IReactorClient
    {
        private List<Request> _plan = [];
        private int _step;
        private uint _tx;
        private uint _domid;
        private uint _reqId;
        private long _started;

        public readonly List<uint> Domains = [];
        public readonly LatencySamples CreateLatency = new();
        public long Retries;

        public XsConnection Connection => connection;

        public bool Active { get; private set; } = true;

        public void Start() => NextDomain();

        public void OnReadable()
        {
            connection.Receive();
            while (Active && connection.TryTake(out Frame frame))
            {
                Handle(frame);
            }
        }

        private void NextDomain()
        {
            if (nextDomid() is not uint domid)
            {
                Active = false;
                return;
            }
            _domid = domid;
            _plan = Plan(domid);
            _started = Stopwatch.GetTimestamp();
            BeginAttempt();
        }

        private void BeginAttempt()
        {
            _step = -1;
            Send(XsMessageType.TransactionStart, 0, "\0"u8);
        }

        private void Send(XsMessageType type, uint tx, ReadOnlySpan<byte> payload)
        {
            _reqId = connection.Enqueue(type, tx, payload);
            connection.Flush();
        }

        private void Handle(in Frame frame)
        {
            if (_step == -1)
            {
                Replies.ExpectHeader(connection, frame, XsMessageType.TransactionStart, _reqId);
                _tx = ParseTxId(connection.Payload(frame));
                _step = 0;
                Send(_plan[0].Type, _tx, _plan[0].Payload);
            }
            else if (_step < _plan.Count)
            {
                Request request = _plan[_step];
                Replies.Expect(connection, frame, request.Type, _reqId, Replies.Ok);
                _step++;
                if (_step < _plan.Count)
                {
                    Send(_plan[_step].Type, _tx, _plan[_step].Payload);
                }
                else
                {
                    Send(XsMessageType.TransactionEnd, _tx, "T\0"u8);
                }
            }
            else
            {
                string? error = Replies.ErrorOrNull(connection, frame, XsMessageType.TransactionEnd, _reqId);
                if (error is null)
                {
                    CreateLatency.Add(Stopwatch.GetTimestamp() - _started);
                    Domains.Add(_domid);
                    NextDomain();
                }
                else if (error == "EAGAIN")
                {
                    Retries++;
                    BeginAttempt();
                }
                else
                {
                    throw new ProtocolException($"commit of domain {_domid}: {error}");
                }
            }
        }
    }

    public static async Task RunAsync(WorkloadContext ctx)
    {
        int toolstacks = ctx.Options.Toolstacks;
        using XsConnection setup = ctx.Connect();
        Ops.Write(setup, VifRoot, "");
        Ops.Write(setup, VbdRoot, "");
        await using var vif = await Watcher.StartAsync(ctx, VifRoot, "vif").ConfigureAwait(false);
        await using var vbd = await Watcher.StartAsync(ctx, VbdRoot, "vbd").ConfigureAwait(false);
        Watcher[] watchers = [vif, vbd];

        // Warm-up: a few domains created and destroyed by one toolstack, outside the measured phase; their events
        // are checked like all others.
        var created = new List<uint>();
        using (XsConnection warm = ctx.Connect())
        {
            uint next = WarmupDomidBase;
            var warmup = new Toolstack(warm, () => next < WarmupDomidBase + WarmupDomains ? next++ : null);
            Reactor.Run([warmup], () => false);
            created.AddRange(warmup.Domains);
        }

        var stacks = new Toolstack[toolstacks];
        long deadline = 0;
        for (int t = 0; t < toolstacks; t++)
        {
            // Domain ids never collide: toolstack t takes 1 + t, 1 + t + T, 1 + t + 2T, ...
            int index = t;
            uint k = 0;
            stacks[t] = new Toolstack(ctx.Connect(), () =>
                Stopwatch.GetTimestamp() < deadline ? 1 + (uint)index + (k++ * (uint)toolstacks) : null);
        }
        double cpu0 = ctx.Probe.CpuSeconds();
        long start = Stopwatch.GetTimestamp();
        deadline = Ops.Deadline(ctx.Options.Duration);
        Reactor.Run(stacks, () => false);
        long end = Stopwatch.GetTimestamp();
        double cpu1 = ctx.Probe.CpuSeconds();
        long rss = ctx.Probe.RssBytes();

        int domains = stacks.Sum(s => s.Domains.Count);
        long retriesTotal = stacks.Sum(s => s.Retries);
        var latency = new LatencySamples();
        foreach (Toolstack s in stacks)
        {
            latency.AddRange(s.CreateLatency);
            created.AddRange(s.Domains);
        }
        double seconds = Ops.Seconds(start, end);
        ctx.Result["toolstacks"] = toolstacks;
        ctx.Result["domains"] = domains;
        ctx.Result["domains_per_second"] = domains / seconds;
        ctx.Result["eagain_per_domain"] = domains > 0 ? retriesTotal / (double)domains : double.NaN;
        ctx.Result["create_p50_ms"] = latency.QuantileMicros(0.50) / 1000;
        ctx.Result["create_p99_ms"] = latency.QuantileMicros(0.99) / 1000;
        ctx.Result["create_max_ms"] = latency.MaxMicros() / 1000;
        ctx.Result["daemon_rss_bytes"] = rss;
        ctx.RecordCpu("", cpu0, cpu1, domains, seconds);

        // Every event of the creations must be in before the destroys start: C xenstored drops an event identical
        // to one still queued, and the destroy of <root>/<id> fires the same path as its creation.
        bool drained = await DrainAsync(setup, watchers, "created").ConfigureAwait(false);

        long destroyStart = Stopwatch.GetTimestamp();
        var destroyTasks = new Task[toolstacks];
        for (int t = 0; t < toolstacks; t++)
        {
            int index = t;
            destroyTasks[t] = Task.Run(async () =>
            {
                foreach (uint domid in stacks[index].Domains)
                {
                    await DestroyAsync(stacks[index].Connection, domid).ConfigureAwait(false);
                }
            });
        }
        await Task.WhenAll(destroyTasks).ConfigureAwait(false);
        using (XsConnection warm = ctx.Connect())
        {
            for (uint i = 0; i < WarmupDomains; i++)
            {
                await DestroyAsync(warm, WarmupDomidBase + i).ConfigureAwait(false);
            }
        }
        ctx.Result["destroys_per_second"] = domains / Ops.Seconds(destroyStart, Stopwatch.GetTimestamp());
        drained &= await DrainAsync(setup, watchers, "destroyed").ConfigureAwait(false);
        foreach (Toolstack t in stacks)
        {
            t.Connection.Dispose();
        }

        long expected = 0;
        long missing = 0;
        long unexpected = 0;
        foreach (Watcher w in watchers)
        {
            (long e, long m, long u) = w.Check(created);
            expected += e;
            missing += m;
            unexpected += u;
        }
        ctx.Result["events_expected"] = expected;
        ctx.Result["events_missing"] = missing;
        ctx.Result["events_unexpected"] = unexpected;
        ctx.Result["events_on_watch_root"] = watchers.Sum(w => w.RootEvents);
        ctx.Result["watch_events_exact"] = drained && missing == 0 && unexpected == 0;
    }

    /// <summary>Writes a sentinel under each watched root and waits until every watcher has seen its event.</summary>
    private static async Task<bool> DrainAsync(XsConnection setup, Watcher[] watchers, string name)
    {
        foreach (Watcher w in watchers)
        {
            w.ExpectSentinel(name);
            Ops.Write(setup, $"{w.Root}/sentinel-{name}", "");
        }
        foreach (Watcher w in watchers)
        {
            if (!await w.WaitSentinelAsync(s_drainTimeout).ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    private static async Task DestroyAsync(XsConnection c, uint domid)
    {
        string id = domid.ToString(CultureInfo.InvariantCulture);
        foreach (string path in new[] { $"/local/domain/{id}", $"{VifRoot}/{id}", $"{VbdRoot}/{id}" })
        {
            var request = new Request(XsMessageType.Rm, Ops.Z(path));
            ExpectOk(request, await CallAsync(c, XsMessageType.Rm, 0, request.Payload).ConfigureAwait(false));
        }
    }

    private static void ExpectOk(Request request, byte[] reply)
    {
        if (!Replies.PayloadChecksOff && !reply.AsSpan().SequenceEqual(Replies.Ok))
        {
            throw new ProtocolException($"{request.Type} {Replies.Show(request.Payload)}: reply '{Replies.Show(reply)}'");
        }
    }

    private static uint ParseTxId(ReadOnlySpan<byte> reply)
    {
        int nul = reply.IndexOf((byte)0);
        if (nul <= 0 || !uint.TryParse(reply[..nul], NumberStyles.None, CultureInfo.InvariantCulture, out uint tx) || tx == 0)
        {
            throw new ProtocolException($"TRANSACTION_START reply '{Replies.Show(reply)}'");
        }
        return tx;
    }

    private static async ValueTask<byte[]> CallAsync(XsConnection c, XsMessageType type, uint tx, byte[] payload)
    {
        (string? error, byte[] reply) = await TryCallAsync(c, type, tx, payload).ConfigureAwait(false);
        return error is null ? reply : throw new ProtocolException($"{type} {Replies.Show(payload)}: {error}");
    }

    private static async ValueTask<(string? Error, byte[] Reply)> TryCallAsync(XsConnection c, XsMessageType type, uint tx, byte[] payload)
    {
        uint reqId = c.Enqueue(type, tx, payload);
        await c.FlushAsync().ConfigureAwait(false);
        Frame frame = await c.NextAsync().ConfigureAwait(false);
        string? error = Replies.ErrorOrNull(c, frame, type, reqId);
        return (error, c.Payload(frame).ToArray());
    }

    /// <summary>The requests of one domain's creation transaction, in a toolstack's order.</summary>
    private static List<Request> Plan(uint domid)
    {
        string id = domid.ToString(CultureInfo.InvariantCulture);
        string home = $"/local/domain/{id}";
        var plan = new List<Request>();
        void W(string path, string value) => plan.Add(new Request(XsMessageType.Write, Ops.WritePayload(path, value)));
        void P(string path, params string[] perms) =>
            plan.Add(new Request(XsMessageType.SetPerms, Encoding.ASCII.GetBytes(path + "\0" + string.Join('\0', perms) + "\0")));

        W(home, "");
        P(home, "n0", "r" + id);
        W($"{home}/vm", $"/vm/00000000-0000-0000-0000-{domid:D12}");
        W($"{home}/name", $"guest-{id}");
        W($"{home}/domid", id);
        W($"{home}/memory", "");
        W($"{home}/memory/static-max", "1048576");
        W($"{home}/memory/target", "1048576");
        W($"{home}/memory/videoram", "-1");
        W($"{home}/cpu", "");
        W($"{home}/cpu/0", "");
        W($"{home}/cpu/0/availability", "online");
        W($"{home}/cpu/1", "");
        W($"{home}/cpu/1/availability", "online");
        W($"{home}/control", "");
        W($"{home}/control/shutdown", "");
        W($"{home}/control/sysrq", "");
        W($"{home}/control/feature-poweroff", "1");
        W($"{home}/control/feature-reboot", "1");
        W($"{home}/control/feature-suspend", "1");
        W($"{home}/control/platform-feature-multiprocessor-suspend", "1");
        W($"{home}/control/platform-feature-xs_reset_watches", "1");
        W($"{home}/data", "");
        W($"{home}/drivers", "");
        W($"{home}/feature", "");
        W($"{home}/attr", "");
        W($"{home}/error", "");
        W($"{home}/store", "");
        W($"{home}/store/port", "1");
        W($"{home}/store/ring-ref", "1044476");
        W($"{home}/console", "");
        W($"{home}/console/port", "2");
        W($"{home}/console/ring-ref", "1044479");
        W($"{home}/console/type", "xenconsoled");
        W($"{home}/device", "");
        P($"{home}/device", "n" + id, "r0");
        W($"{home}/device/vif", "");
        W($"{home}/device/vif/0", "");
        W($"{home}/device/vif/0/backend", $"{VifRoot}/{id}/0");
        W($"{home}/device/vif/0/backend-id", "0");
        W($"{home}/device/vif/0/handle", "0");
        W($"{home}/device/vif/0/mac", "00:16:3e:00:00:01");
        W($"{home}/device/vif/0/state", "1");
        W($"{home}/device/vbd", "");
        W($"{home}/device/vbd/51712", "");
        W($"{home}/device/vbd/51712/backend", $"{VbdRoot}/{id}/51712");
        W($"{home}/device/vbd/51712/backend-id", "0");
        W($"{home}/device/vbd/51712/virtual-device", "51712");
        W($"{home}/device/vbd/51712/device-type", "disk");
        W($"{home}/device/vbd/51712/state", "1");
        foreach ((string root, string dev, string[] leaves) in BackendLayout)
        {
            W($"{root}/{id}", "");
            W($"{root}/{id}/{dev}", "");
            foreach (string leaf in leaves)
            {
                W($"{root}/{id}/{dev}/{leaf}", leaf == "frontend" ? $"{home}/device/{root[^3..]}/{dev}" : leaf == "frontend-id" ? id : "1");
            }
        }
        return plan;
    }

    private static readonly (string Root, string Device, string[] Leaves)[] BackendLayout =
    [
        (VifRoot, "0", ["frontend", "frontend-id", "online", "state", "script", "mac", "bridge", "handle", "type"]),
        (VbdRoot, "51712", ["frontend", "frontend-id", "online", "state", "params", "type", "mode", "device-type", "removable"]),
    ];

    /// <summary>The watched paths one domain's creation writes under <paramref name="root"/>.</summary>
    private static IEnumerable<string> BackendPaths(string root, uint domid)
    {
        foreach ((string r, string dev, string[] leaves) in BackendLayout)
        {
            if (r != root)
            {
                continue;
            }
            yield return $"{root}/{domid}/{dev}";
            foreach (string leaf in leaves)
            {
                yield return $"{root}/{domid}/{dev}/{leaf}";
            }
        }
    }

    /// <summary>A backend connection: one watch on a backend root, counting every event it receives.</summary>
    private sealed class Watcher : IAsyncDisposable
    {
        private readonly XsConnection _connection;
        private readonly string _token;
        private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
        private readonly CancellationTokenSource _stop = new();
        private Task _pump = Task.CompletedTask;
        private string? _sentinel;
        private TaskCompletionSource _sentinelSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Exception? _failure;

        private Watcher(XsConnection connection, string root, string token)
        {
            _connection = connection;
            Root = root;
            _token = token;
        }

        public string Root { get; }

        public long RootEvents { get; private set; }

        public static async Task<Watcher> StartAsync(WorkloadContext ctx, string root, string token)
        {
            var w = new Watcher(ctx.Connect(), root, token);
            uint reqId = w._connection.Enqueue(XsMessageType.Watch, 0, Encoding.ASCII.GetBytes(root + "\0" + token + "\0"));
            await w._connection.FlushAsync().ConfigureAwait(false);
            // The reply and the initial event may come in either order.
            bool replied = false;
            bool initial = false;
            while (!replied || !initial)
            {
                Frame frame = await w._connection.NextAsync().ConfigureAwait(false);
                if (frame.Header.Type == XsMessageType.WatchEvent)
                {
                    (string path, string tok) = ParseEvent(w._connection.Payload(frame));
                    if (path != root || tok != token || initial)
                    {
                        throw new ProtocolException($"watch {root}: unexpected first event {path} {tok}");
                    }
                    initial = true;
                }
                else
                {
                    Replies.Expect(w._connection, frame, XsMessageType.Watch, reqId, Replies.Ok);
                    replied = true;
                }
            }
            w._pump = Task.Run(w.PumpAsync);
            return w;
        }

        public void ExpectSentinel(string name)
        {
            _sentinelSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _sentinel, $"{Root}/sentinel-{name}");
        }

        public async Task<bool> WaitSentinelAsync(TimeSpan timeout)
        {
            Task done = await Task.WhenAny(_sentinelSeen.Task, _pump, Task.Delay(timeout)).ConfigureAwait(false);
            if (_failure is not null)
            {
                throw new ProtocolException(_failure.Message);
            }
            return done == _sentinelSeen.Task;
        }

        private async Task PumpAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    Frame frame = await _connection.NextAsync(_stop.Token).ConfigureAwait(false);
                    if (frame.Header.Type != XsMessageType.WatchEvent || frame.Header.ReqId != 0)
                    {
                        throw new ProtocolException($"watcher {Root}: unexpected {frame.Header.Type} req {frame.Header.ReqId}");
                    }
                    (string path, string token) = ParseEvent(_connection.Payload(frame));
                    if (token != _token)
                    {
                        throw new ProtocolException($"watcher {Root}: event with token '{token}'");
                    }
                    if (path == Root)
                    {
                        RootEvents++;
                        continue;
                    }
                    if (path == Volatile.Read(ref _sentinel))
                    {
                        _sentinelSeen.TrySetResult();
                        continue;
                    }
                    _counts.AddOrUpdate(path, 1, (_, n) => n + 1);
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e) when (e is ProtocolException or System.Net.Sockets.SocketException or IOException)
            {
                _failure = e;
            }
        }

        /// <summary>
        /// Compares the counts with what the created-then-destroyed domains must have fired: each path written under
        /// the root once, and <c>root/id</c> twice (written, then removed). Sentinels are not counted.
        /// </summary>
        public (long Expected, long Missing, long Unexpected) Check(IReadOnlyCollection<uint> domains)
        {
            var expected = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (uint domid in domains)
            {
                expected[$"{Root}/{domid}"] = 2;
                foreach (string path in BackendPaths(Root, domid))
                {
                    expected[path] = 1;
                }
            }
            long missing = 0;
            long unexpected = 0;
            foreach ((string path, int count) in expected)
            {
                int got = _counts.GetValueOrDefault(path);
                missing += Math.Max(0, count - got);
                unexpected += Math.Max(0, got - count);
            }
            foreach ((string path, int count) in _counts)
            {
                if (!expected.ContainsKey(path) && !path.StartsWith(Root + "/sentinel-", StringComparison.Ordinal))
                {
                    unexpected += count;
                }
            }
            return (expected.Values.Sum(v => (long)v), missing, unexpected);
        }

        private static (string Path, string Token) ParseEvent(ReadOnlySpan<byte> payload)
        {
            int nul = payload.IndexOf((byte)0);
            if (nul < 0 || payload.Length < nul + 2 || payload[^1] != 0)
            {
                throw new ProtocolException($"malformed watch event '{Replies.Show(payload)}'");
            }
            return (Encoding.ASCII.GetString(payload[..nul]), Encoding.ASCII.GetString(payload[(nul + 1)..^1]));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _pump.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            _connection.Dispose();
            _stop.Dispose();
        }
    }
}
