using System.Globalization;
using System.Net.Sockets;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Sockets;
using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>Builds <see cref="AccountingSnapshot"/>s from the engine, the counters and the open connections. Store thread.</summary>
internal sealed class AccountingSnapshots(AccountingTable table, ConnectionRegistry connections)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <param name="engine">The engine, for what domains hold.</param>
    /// <param name="watchesOf">A domain whose watches to list too; null for none.</param>
    public AccountingSnapshot Take(XenstoreEngine engine, uint? watchesOf = null)
    {
        long now = table.Second(table.Time.GetTimestamp());
        IReadOnlyDictionary<uint, DomainUsage> usage = engine.Accounting.Domains();
        var rows = new List<ConnectionRow>();
        foreach (ConnectionCounters counters in table.Open)
        {
            int outstanding = 0;
            long queued = 0;
            long buffer = 0;
            if (connections.TryGet(counters.Id, out IClientConnection connection))
            {
                outstanding = connection.Outstanding;
                queued = connection.Output.QueuedBytes;
                buffer = connection.Output.Capacity;
                if (counters.Peer is null && connection is SocketConnection socket)
                {
                    counters.Peer = PeerOf(socket.Socket);
                }
            }
            long[] rates = new long[ConnectionCounters.TypeSlots];
            counters.AddRate(now, rates);
            rows.Add(new ConnectionRow(counters, engine.Accounting.Connection(counters.Id), outstanding, queued, buffer, rates));
        }
        rows.Sort((a, b) => a.Counters.Id.CompareTo(b.Counters.Id));
        var domids = new SortedSet<uint>(usage.Keys);
        domids.UnionWith(rows.Select(r => r.Counters.Domid));
        domids.UnionWith(table.ClosedByDomain.Keys);
        var domains = new List<DomainRow>();
        foreach (uint domid in domids)
        {
            var totals = new ConnectionCounters(0, domid, "domain");
            if (table.ClosedByDomain.TryGetValue(domid, out ConnectionCounters? closed))
            {
                totals.Add(closed);
            }
            long[] rates = new long[ConnectionCounters.TypeSlots];
            int count = 0;
            int outstanding = 0;
            long queued = 0;
            long buffers = 0;
            foreach (ConnectionRow row in rows.Where(r => r.Counters.Domid == domid))
            {
                totals.Add(row.Counters);
                for (int i = 0; i < rates.Length; i++)
                {
                    rates[i] += row.RatesByType[i];
                }
                count++;
                outstanding += row.Outstanding;
                queued += row.QueuedBytes;
                buffers += row.OutputBuffer;
            }
            DomainUsage held = usage.TryGetValue(domid, out DomainUsage found)
                ? found
                : new DomainUsage(domid, engine.Accounting.NameOf(domid), 0, 0, 0, 0, default);
            domains.Add(new DomainRow(held, count, outstanding, queued, buffers, totals, rates));
        }
        IReadOnlyList<WatchUsage> watches = watchesOf is uint wanted ? engine.Accounting.WatchesOf(wanted) : [];
        return new AccountingSnapshot(domains, rows, watches, table.Released, 1.0 / table.Time.TimestampFrequency);
    }

    /// <summary>"pid 1234 (xenstore-ls)" from the socket's peer credentials and /proc.</summary>
    private static string PeerOf(Socket socket)
    {
        try
        {
            Span<byte> credentials = stackalloc byte[12];
            if (socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials) < 4)
            {
                return "";
            }
            int pid = BitConverter.ToInt32(credentials);
            string command = "?";
            try
            {
                command = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/comm")).TrimEnd('\n');
            }
            catch (IOException)
            {
                // The process is gone already.
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's process under a restrictive /proc.
            }
            return string.Create(CultureInfo.InvariantCulture, $"pid {pid} ({command})");
        }
        catch (SocketException)
        {
            return "";
        }
        catch (ObjectDisposedException)
        {
            return "";
        }
    }
}
