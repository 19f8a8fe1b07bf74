using System.Globalization;
using System.Text.Json;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// Per-domain and per-connection accounting (CONTROL accounting, the Prometheus series, memreport) and the
/// refusal log, against a scripted workload of guests over rings and dom0 over the socket.
/// </summary>
public sealed class AccountingTests
{
    private sealed class Host : IAsyncDisposable
    {
        private readonly List<SimulatedGuest> _guests = [];
        private readonly string _rings;

        private Host(EmbeddedDaemon daemon, string rings, RawConnection dom0, ManualClock clock, CapturedLog log)
        {
            Daemon = daemon;
            _rings = rings;
            Dom0 = dom0;
            Clock = clock;
            Log = log;
        }

        public EmbeddedDaemon Daemon { get; }

        public RawConnection Dom0 { get; }

        public ManualClock Clock { get; }

        public CapturedLog Log { get; }

        public static async Task<Host> StartAsync()
        {
            string rings = Directory.CreateTempSubdirectory("xs-acct-").FullName;
            var clock = new ManualClock();
            var log = new CapturedLog();
            EmbeddedDaemon daemon = await EmbeddedDaemon.StartAsync(options => options with
            {
                Hypervisor = HypervisorKind.Simulated,
                SimulationDirectory = rings,
                TimeProvider = clock,
            }, log);
            return new Host(daemon, rings, await RawConnection.ConnectAsync(daemon.SocketPath), clock, log);
        }

        /// <summary>A toolstack's steps: name, home readable by the guest, a data directory it owns, INTRODUCE.</summary>
        public async Task<SimulatedGuest> CreateDomainAsync(uint domid)
        {
            SimulatedGuest guest = SimulatedGuest.Create(_rings, domid);
            _guests.Add(guest);
            string home = $"/local/domain/{domid}";
            Assert.False((await Dom0.WriteAsync(home + "/name", $"guest{domid}")).IsError);
            Assert.False((await Dom0.SetPermsAsync(home, "n0", $"r{domid}")).IsError);
            Assert.False((await Dom0.SetPermsAsync(home + "/name", "n0", $"r{domid}")).IsError);
            Assert.False((await Dom0.MkdirAsync(home + "/data")).IsError);
            Assert.False((await Dom0.SetPermsAsync(home + "/data", $"n{domid}")).IsError);
            RawMessage introduced = await Dom0.RequestAsync(XsMessageType.Introduce,
                RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture), "0", "7"));
            Assert.Equal("OK", introduced.Text);
            return guest;
        }

        public async Task<JsonDocument> AccountingAsync(params string[] args) =>
            JsonDocument.Parse(await OperatorControl.FetchAsync(Dom0, ["accounting", "--json", .. args]));

        public async ValueTask DisposeAsync()
        {
            foreach (SimulatedGuest guest in _guests)
            {
                guest.Dispose();
            }
            await Dom0.DisposeAsync();
            await Daemon.DisposeAsync();
            Directory.Delete(_rings, recursive: true);
        }
    }

    private static JsonElement Domain(JsonDocument json, uint domid) =>
        json.RootElement.GetProperty("domains").EnumerateArray().Single(d => d.GetProperty("domid").GetUInt32() == domid);

    private static long Number(JsonElement element, string name) => element.GetProperty(name).GetInt64();

    private static long Entry(JsonElement element, string map, string key) =>
        element.GetProperty(map).TryGetProperty(key, out JsonElement value) ? value.GetInt64() : 0;

    [Fact]
    public async Task Accounting_FiguresAreExactForAScriptedWorkload()
    {
        await using Host host = await Host.StartAsync();
        using SimulatedGuest five = await host.CreateDomainAsync(5);
        using SimulatedGuest six = await host.CreateDomainAsync(6);
        Assert.Equal("OK", five.Request(XsMessageType.Write, RawPayload.Write("data/a", RawPayload.Bytes("hello"))).Text);
        Assert.Equal("OK", five.Request(XsMessageType.Write, RawPayload.Write("data/b", RawPayload.Bytes("xy"))).Text);
        Assert.Equal("OK", five.Request(XsMessageType.Watch, "data", "tok").Text);
        Assert.Equal("ENOENT", five.Request(XsMessageType.Read, "data/nope").ErrorName);
        Assert.False(five.Request(XsMessageType.TransactionStart, "").IsError);
        Assert.Equal("OK", six.Request(XsMessageType.Write, RawPayload.Write("data/c", RawPayload.Bytes("1"))).Text);
        Assert.Equal("EACCES", six.Request(XsMessageType.Write, RawPayload.Write("/local/domain/5/data/x", RawPayload.Bytes("no"))).ErrorName);
        Assert.Equal("ENOSPC", six.Request(XsMessageType.Write, RawPayload.Write("data/big", new byte[3000])).ErrorName);

        using JsonDocument now = await host.AccountingAsync();
        JsonElement g5 = Domain(now, 5);
        Assert.Equal("guest5", g5.GetProperty("name").GetString());
        // data, data/a ("a" + "hello"), data/b ("b" + "xy"): names and values.
        Assert.Equal(3, Number(g5, "nodes"));
        Assert.Equal(4 + 6 + 3, Number(g5, "bytes"));
        Assert.Equal(1, Number(g5, "watches"));
        Assert.Equal(1, Number(g5, "transactions"));
        Assert.Equal(1, Number(g5, "connections"));
        Assert.Equal(5, Number(g5, "requests"));
        Assert.Equal(2, Entry(g5, "requests_by_type", "WRITE"));
        Assert.Equal(1, Entry(g5, "requests_by_type", "WATCH"));
        Assert.Equal(1, Entry(g5, "requests_by_type", "READ"));
        Assert.Equal(1, Entry(g5, "requests_by_type", "TRANSACTION_START"));
        Assert.Equal(1, Entry(g5, "errors", "ENOENT"));
        Assert.Equal(1, Number(g5, "events_queued"));
        Assert.Equal(0, Number(g5, "refusals"));
        // All of it happened in the second in progress: no whole second is over yet.
        Assert.Equal(0, Number(g5, "requests_per_s"));

        JsonElement g6 = Domain(now, 6);
        Assert.Equal(2, Number(g6, "nodes"));
        Assert.Equal(4 + 2, Number(g6, "bytes"));
        Assert.Equal(3, Entry(g6, "requests_by_type", "WRITE"));
        Assert.Equal(1, Entry(g6, "errors", "EACCES"));
        Assert.Equal(1, Entry(g6, "errors", "ENOSPC"));
        Assert.Equal(1, Entry(g6, "quota_refusals", "node-size"));
        Assert.Equal(1, Number(g6, "permission_refusals"));
        Assert.Equal(2, Number(g6, "refusals"));

        JsonElement dom0 = Domain(now, 0);
        Assert.Equal(6, Entry(dom0, "requests_by_type", "SET_PERMS"));
        Assert.Equal(2, Entry(dom0, "requests_by_type", "INTRODUCE"));
        Assert.Equal(2, Entry(dom0, "requests_by_type", "MKDIR"));
        JsonElement socket = now.RootElement.GetProperty("connections").EnumerateArray()
            .Single(c => c.GetProperty("transport").GetString() == "socket");
        Assert.Equal(0u, socket.GetProperty("domid").GetUInt32());
        Assert.StartsWith($"pid {Environment.ProcessId} (", socket.GetProperty("peer").GetString(), StringComparison.Ordinal);
        JsonElement ring = now.RootElement.GetProperty("connections").EnumerateArray()
            .Single(c => c.GetProperty("domid").GetUInt32() == 5);
        Assert.Equal("ring", ring.GetProperty("transport").GetString());
        Assert.Equal(1, Number(ring, "watches"));

        // One second later the second of the workload is whole: its requests are the rate; one more, and it is past.
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        using (JsonDocument later = await host.AccountingAsync())
        {
            Assert.Equal(5, Number(Domain(later, 5), "requests_per_s"));
            Assert.Equal(2, Entry(Domain(later, 5), "requests_per_s_by_type", "WRITE"));
            Assert.Equal(3, Number(Domain(later, 6), "requests_per_s"));
            Assert.Equal(5, Domain(later, 5).GetProperty("requests_per_s").GetInt64());
            // Busiest first.
            Assert.Equal(0u, later.RootElement.GetProperty("domains")[0].GetProperty("domid").GetUInt32());
        }
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        using (JsonDocument idle = await host.AccountingAsync())
        {
            Assert.Equal(0, Number(Domain(idle, 5), "requests_per_s"));
            Assert.Equal(5, Number(Domain(idle, 5), "requests"));
        }

        // The text form of one domain, as CONTROL quota prints, with its connection and watch.
        string text = await OperatorControl.FetchAsync(host.Dom0, "accounting", "5");
        Assert.StartsWith("Domain 5 (guest5):\n", text, StringComparison.Ordinal);
        Assert.Contains("nodes           :        3\n", text, StringComparison.Ordinal);
        Assert.Contains("by type         : READ 1, WATCH 1, TRANSACTION_START 1, WRITE 2\n", text, StringComparison.Ordinal);
        Assert.Matches(@"Connection \d+ \(ring\):\n", text);
        Assert.Matches(@"\n +\d+ /local/domain/5/data tok\n", text);
        // The figures agree with CONTROL quota, which reads the engine's own accounting.
        string quota = (await host.Dom0.RequestAsync(XsMessageType.Control, RawPayload.Strings("quota", "5"))).Text;
        Assert.Contains("nodes           :        3\n", quota, StringComparison.Ordinal);
        Assert.Contains("watches         :        1\n", quota, StringComparison.Ordinal);

        // A closed connection's counts stay with its domain.
        int dom0Requests = (int)Number(dom0, "requests");
        await using (RawConnection extra = await RawConnection.ConnectAsync(host.Daemon.SocketPath))
        {
            await extra.ReadAsync("/local");
            await extra.ReadAsync("/nothing");
        }
        using JsonDocument after = await AwaitConnectionsAsync(host, 1);
        Assert.True(Number(Domain(after, 0), "requests") >= dom0Requests + 2);
        Assert.Equal(Entry(dom0, "errors", "ENOENT") + 1, Entry(Domain(after, 0), "errors", "ENOENT"));
    }

    /// <summary>The accounting once dom0 has <paramref name="count"/> connections (a closed socket goes asynchronously).</summary>
    private static async Task<JsonDocument> AwaitConnectionsAsync(Host host, int count)
    {
        while (true)
        {
            JsonDocument json = await host.AccountingAsync();
            if (Number(Domain(json, 0), "connections") == count)
            {
                return json;
            }
            json.Dispose();
            await host.Dom0.SyncAsync();
        }
    }

    [Fact]
    public async Task Refusals_OneLogLineEach_RateLimitedWithTheSuppressedCount()
    {
        await using Host host = await Host.StartAsync();
        await host.CreateDomainAsync(5);
        using SimulatedGuest six = await host.CreateDomainAsync(6);

        Assert.Equal("ENOSPC", six.Request(XsMessageType.Write, RawPayload.Write("data/big", new byte[3000])).ErrorName);
        string quota = Assert.Single(host.Log.Lines, l => l.StartsWith("Refused:", StringComparison.Ordinal));
        Assert.Equal("Refused: domain 6 (guest6) WRITE /local/domain/6/data/big: quota node-size reached (limit 2048), 0 refusals of this domain suppressed before this one", quota);

        const int flood = 25;
        for (int i = 0; i < flood; i++)
        {
            Assert.Equal("EACCES", six.Request(XsMessageType.Write, RawPayload.Write("/local/domain/5/data/x", RawPayload.Bytes("no"))).ErrorName);
        }
        string[] denied = host.Log.Lines.Where(l => l.Contains("permission denied", StringComparison.Ordinal)).ToArray();
        Assert.Equal(Accounting.RefusalLog.Burst - 1, denied.Length);
        Assert.All(denied, l => Assert.Equal("Refused: domain 6 (guest6) WRITE /local/domain/5/data/x: permission denied, 0 refusals of this domain suppressed before this one", l));

        host.Clock.Advance(Accounting.RefusalLog.Window);
        Assert.Equal("EACCES", six.Request(XsMessageType.Mkdir, "/local/domain/5/data/y").ErrorName);
        string last = host.Log.Lines.Last(l => l.StartsWith("Refused:", StringComparison.Ordinal));
        int suppressed = flood - (Accounting.RefusalLog.Burst - 1);
        Assert.Equal($"Refused: domain 6 (guest6) MKDIR /local/domain/5/data/y: permission denied, {suppressed} refusals of this domain suppressed before this one", last);

        // Every refusal is counted, logged or not.
        using JsonDocument json = await host.AccountingAsync("6");
        Assert.Equal(flood + 1, Number(Domain(json, 6), "permission_refusals"));
        Assert.Equal(1, Entry(Domain(json, 6), "quota_refusals", "node-size"));
    }

    [Fact]
    public async Task Metrics_BusiestDomainsByName_TheRestSummed()
    {
        await using Host host = await Host.StartAsync();
        var guests = new List<RawConnection>();
        const int domains = 14;
        for (uint domid = 1; domid <= domains; domid++)
        {
            await host.Dom0.WriteAsync($"/local/domain/{domid}/name", $"vm{domid}");
            Assert.False((await host.Dom0.SetPermsAsync($"/local/domain/{domid}", $"n{domid}")).IsError);
            RawConnection guest = RawConnection.Over(host.Daemon.ConnectInMemory(domid, privileged: false));
            guests.Add(guest);
            for (int i = 0; i < domid; i++)
            {
                Assert.False((await guest.WriteAsync($"/local/domain/{domid}/k{i}", "v")).IsError);
            }
        }
        string metrics = await OperatorControl.FetchAsync(host.Dom0, "metrics");
        string[] nodes = metrics.Split('\n').Where(l => l.StartsWith("xenstore_domain_nodes{", StringComparison.Ordinal)).ToArray();
        Assert.Equal(Accounting.DomainMetrics.Busiest + 1, nodes.Length);
        Assert.Contains(nodes, l => l.StartsWith("xenstore_domain_nodes{domain=\"vm14\",domid=\"14\"} ", StringComparison.Ordinal));
        Assert.Contains(nodes, l => l.StartsWith("xenstore_domain_nodes{domain=\"other\",domid=\"\"} ", StringComparison.Ordinal));
        // Nothing is lost in the summing: the series add up to every domain's nodes.
        using JsonDocument json = await host.AccountingAsync();
        long all = json.RootElement.GetProperty("domains").EnumerateArray().Sum(d => Number(d, "nodes"));
        Assert.Equal(all, nodes.Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)));
        Assert.EndsWith("\n", metrics, StringComparison.Ordinal);
        Assert.Contains("dotnet_allocated_bytes_total ", metrics, StringComparison.Ordinal);
        foreach (RawConnection guest in guests)
        {
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task Memreport_ByDomainAndStructure_SumsMatchTheTotals()
    {
        await using Host host = await Host.StartAsync();
        using SimulatedGuest five = await host.CreateDomainAsync(5);
        Assert.Equal("OK", five.Request(XsMessageType.Write, RawPayload.Write("data/long", new byte[500])).Text);
        Assert.Equal("OK", five.Request(XsMessageType.Watch, "data", "t").Text);
        string report = await OperatorControl.FetchAsync(host.Dom0, "memreport");
        string[] lines = report.Split('\n');
        Assert.Equal("Memory by domain (estimated bytes):", lines[0]);
        long[][] rows = lines.Skip(2).TakeWhile(l => !l.StartsWith("total", StringComparison.Ordinal))
            .Select(Figures).ToArray();
        long[] total = Figures(lines.Single(l => l.StartsWith("total", StringComparison.Ordinal)));
        for (int column = 0; column < total.Length; column++)
        {
            Assert.Equal(total[column], rows.Sum(r => r[column]));
        }
        // Each row's total is its structures'; the node count is the tree's.
        Assert.All(rows.Append(total), r => Assert.Equal(r[^1], r[1..^1].Sum()));
        string metrics = await OperatorControl.FetchAsync(host.Dom0, "metrics");
        Assert.Contains($"\nxenstore_nodes {total[0]}\n", metrics, StringComparison.Ordinal);
        long[] guest = Figures(lines.Single(l => l.TrimStart().StartsWith("5 guest5", StringComparison.Ordinal)));
        Assert.True(guest[2] >= 500, "the long value is the guest's");
        Assert.True(guest[4] > 0, "the watch is the guest's");
        Assert.Contains("heap-size: ", report, StringComparison.Ordinal);

        static long[] Figures(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Reverse().Take(7).Reverse().Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
    }
}
