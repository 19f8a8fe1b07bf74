using System.Diagnostics;
using Xenstore.Protocol;

namespace Xenstore.LoadGen;

/// <summary>Many connections, one request in flight each: 80% READ, 15% WRITE, 5% DIRECTORY.</summary>
internal static class FanInWorkload
{
    private const int Keys = 64;
    private const int WriteKeys = 8;
    private const int DirectoryChildren = 16;

    /// <summary>One connection with one request in flight, choosing the next operation from a seeded generator.</summary>
    private sealed class Client(XsConnection connection, int id, byte[][] readRequests, byte[][] values, byte[][] writeRequests,
        byte[] directoryRequest, byte[] expectedListing, Func<int> phase) : IReactorClient
    {
        private XorShift _rng = new((ulong)id + 1);
        private XsMessageType _type;
        private uint _reqId;
        private byte[] _expected = [];
        private long _sent;

        public long Ops;
        public readonly LatencySamples Samples = new();

        public XsConnection Connection => connection;

        public bool Active { get; private set; } = true;

        public void Start() => Issue();

        public void OnReadable()
        {
            connection.Receive();
            while (connection.TryTake(out Frame frame))
            {
                long now = Stopwatch.GetTimestamp();
                Replies.Expect(connection, frame, _type, _reqId, _expected);
                Ops++;
                int current = phase();
                if (current == 1)
                {
                    Samples.Add(now - _sent);
                }
                else if (current == 2)
                {
                    Active = false;
                    return;
                }
                Issue();
            }
        }

        private void Issue()
        {
            int r = _rng.Next(100);
            if (r < 80)
            {
                int k = _rng.Next(Keys);
                _type = XsMessageType.Read;
                _expected = values[k];
                _reqId = connection.Enqueue(_type, 0, readRequests[k]);
            }
            else if (r < 95)
            {
                _type = XsMessageType.Write;
                _expected = s_ok;
                _reqId = connection.Enqueue(_type, 0, writeRequests[_rng.Next(WriteKeys)]);
            }
            else
            {
                _type = XsMessageType.Directory;
                _expected = expectedListing;
                _reqId = connection.Enqueue(_type, 0, directoryRequest);
            }
            _sent = Stopwatch.GetTimestamp();
            connection.Flush();
        }
    }

    public static void Run(WorkloadContext ctx)
    {
        int n = ctx.Options.Connections;
        var readRequests = new byte[Keys][];
        var values = new byte[Keys][];
        byte[] directoryRequest = Ops.Z("/bench/fanin/dir");
        var listing = new List<byte>();
        using (XsConnection setup = ctx.Connect())
        {
            for (int i = 0; i < Keys; i++)
            {
                string path = $"/bench/fanin/data/k{i:D2}";
                string value = $"value-{i}-0123456789";
                Ops.Write(setup, path, value);
                readRequests[i] = Ops.Z(path);
                values[i] = Ops.Bytes(value);
            }
            // Written in name order so that insertion order (C) and sorted order (oxenstored) agree.
            for (int i = 0; i < DirectoryChildren; i++)
            {
                string name = $"c{i:D2}";
                Ops.Write(setup, "/bench/fanin/dir/" + name, "x");
                listing.AddRange(Ops.Z(name));
            }
        }
        byte[] expectedListing = [.. listing];

        var clients = new Client[n];
        int phase = 0; // 0 warm-up, 1 measured, 2 stop
        for (int i = 0; i < n; i++)
        {
            var writeRequests = new byte[WriteKeys][];
            for (int k = 0; k < WriteKeys; k++)
            {
                writeRequests[k] = Ops.WritePayload($"/bench/fanin/conn{i}/w{k}", $"written-by-{i}");
            }
            clients[i] = new Client(ctx.Connect(), i, readRequests, values, writeRequests, directoryRequest, expectedListing, () => phase);
        }

        long warmupEnd = Ops.Deadline(ctx.Options.Warmup);
        long measureEnd = Ops.Deadline(ctx.Options.Warmup + ctx.Options.Duration);
        long ops0 = 0, ops1 = 0, start = 0, end = 0;
        double cpu0 = 0, cpu1 = 0;
        TimeSpan self0 = default, self1 = default;
        long switches0 = 0, switches1 = 0;
        // Phase changes happen between readiness waits, on the reactor's own thread: no races with the clients.
        Reactor.Run(clients, batched: true, stop: () =>
        {
            long now = Stopwatch.GetTimestamp();
            if (phase == 0 && now >= warmupEnd)
            {
                ops0 = clients.Sum(c => c.Ops);
                cpu0 = ctx.Probe.CpuSeconds();
                switches0 = ctx.Probe.ContextSwitches();
                self0 = Process.GetCurrentProcess().TotalProcessorTime;
                start = Stopwatch.GetTimestamp();
                phase = 1;
            }
            else if (phase == 1 && now >= measureEnd)
            {
                end = Stopwatch.GetTimestamp();
                ops1 = clients.Sum(c => c.Ops);
                cpu1 = ctx.Probe.CpuSeconds();
                switches1 = ctx.Probe.ContextSwitches();
                self1 = Process.GetCurrentProcess().TotalProcessorTime;
                phase = 2;
                return true;
            }
            return false;
        });
        if (phase != 2)
        {
            throw new ProtocolException("fan-in clients stopped before the end of the run");
        }
        foreach (Client c in clients)
        {
            c.Connection.Dispose();
        }

        var all = new LatencySamples();
        foreach (Client c in clients)
        {
            all.AddRange(c.Samples);
        }
        double seconds = Ops.Seconds(start, end);
        long ops = ops1 - ops0;
        ctx.Result["connections"] = n;
        ctx.Result["ops"] = ops;
        ctx.Result["ops_per_second"] = ops / seconds;
        ctx.Result["p50_us"] = all.QuantileMicros(0.50);
        ctx.Result["p99_us"] = all.QuantileMicros(0.99);
        ctx.Result["daemon_context_switches_per_op"] = (switches1 - switches0) / (double)ops;
        ctx.Result["loadgen_cpu_us_per_op"] = (self1 - self0).TotalMicroseconds / ops;
        ctx.RecordCpu("", cpu0, cpu1, ops, seconds);
    }

    private static readonly byte[] s_ok = "OK\0"u8.ToArray();
}
