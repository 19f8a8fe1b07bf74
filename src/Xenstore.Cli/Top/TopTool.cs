using System.Globalization;
using System.Text.Json;
using Xenstore.Client;
using Xenstore.Protocol;

namespace Xenstore.Cli.Top;

/// <summary>
/// <c>xenstore top</c>: who loads Xenstore, per domain, from the daemon's CONTROL accounting. Interactive on a
/// terminal (refreshed each second; keys sort, select and drill into a domain), <c>-b</c> prints the table
/// periodically as <c>top -b</c> does, <c>--json</c> prints the daemon's figures once. Exit codes: 0 done, 1 no
/// daemon, 2 usage or a daemon without per-domain accounting.
/// </summary>
internal sealed class TopTool(CliOutput output, EndpointOptions endpoint)
{
    internal const string Usage =
        "Usage: xenstore top [-b] [-d SECONDS] [-n ITERATIONS] [-s r|n|b|w|t|f|s|d] [--json]\n" +
        "keys: r n b w t f s d sort (req/s, nodes, bytes, watches, transactions, refusals, store%, domid),\n" +
        "      up/down select, enter shows the domain's connections and watches, esc back, q quit";

    private readonly Dictionary<uint, long> _lastStoreUs = [];
    private DateTime _lastFetch;

    public async Task<int> RunAsync(string[] args)
    {
        bool batch = false;
        bool json = false;
        double delay = 1;
        long iterations = long.MaxValue;
        TopSort sort = TopSort.Load;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-b" or "--batch":
                    batch = true;
                    break;
                case "--json":
                    json = true;
                    break;
                case "-d" or "--delay" when i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out delay) && delay > 0:
                    i++;
                    break;
                case "-n" or "--iterations" when i + 1 < args.Length && long.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) && iterations > 0:
                    i++;
                    break;
                case "-s" or "--sort" when i + 1 < args.Length && args[i + 1].Length == 1 && TopSorts.FromKey(args[i + 1][0]) is TopSort chosen:
                    sort = chosen;
                    i++;
                    break;
                case "-h" or "--help":
                    output.Print(Usage + "\n");
                    return 0;
                default:
                    output.ErrorLine(Usage);
                    return 2;
            }
        }
        XenstoreClient client;
        try
        {
            client = await XenstoreClient.ConnectAsync(endpoint.Apply(new XenstoreClientOptions())).ConfigureAwait(false);
        }
        catch (XenstoreConnectionException)
        {
            output.ErrorLine("xenstore top: failed to contact Xenstored.");
            return 1;
        }
        await using (client.ConfigureAwait(false))
        {
            try
            {
                if (json)
                {
                    output.Print(await FetchAsync(client, null).ConfigureAwait(false) + "\n");
                    return 0;
                }
                if (batch || Console.IsInputRedirected || Console.IsOutputRedirected)
                {
                    return await BatchAsync(client, sort, delay, iterations).ConfigureAwait(false);
                }
                return await new TopTerminal(this, client, output, sort, delay).RunAsync().ConfigureAwait(false);
            }
            catch (XenstoreErrorException e) when (e.Error is XsError.EINVAL or XsError.ENOSYS)
            {
                output.ErrorLine("xenstore top: this Xenstore daemon has no per-domain accounting (CONTROL accounting)");
                return 2;
            }
            catch (XenstoreException e)
            {
                output.ErrorLine("xenstore top: " + ClientFailure.Text(e));
                return 1;
            }
        }
    }

    /// <summary>The daemon's accounting as JSON; with <paramref name="domid"/>, its connections and watches too.</summary>
    public static Task<string> FetchAsync(XenstoreClient client, uint? domid) =>
        ControlPaging.ReadAsync(client, "accounting",
            domid is uint d ? ["--json", d.ToString(CultureInfo.InvariantCulture)] : ["--json"]);

    /// <summary>The domains, sorted, with each one's share of the store thread since the previous call.</summary>
    public async Task<IReadOnlyList<TopDomain>> DomainsAsync(XenstoreClient client, TopSort sort)
    {
        string text = await FetchAsync(client, null).ConfigureAwait(false);
        using JsonDocument json = JsonDocument.Parse(text);
        DateTime now = DateTime.UtcNow;
        double elapsedUs = _lastFetch == default ? 0 : (now - _lastFetch).TotalMicroseconds;
        var domains = new List<TopDomain>();
        foreach (TopDomain domain in TopDomain.Parse(json.RootElement))
        {
            double percent = elapsedUs > 0 && _lastStoreUs.TryGetValue(domain.Domid, out long before)
                ? Math.Max(0, domain.StoreMicroseconds - before) * 100 / elapsedUs
                : 0;
            domains.Add(domain with { StorePercent = percent });
            _lastStoreUs[domain.Domid] = domain.StoreMicroseconds;
        }
        _lastFetch = now;
        return TopSorts.Apply(domains, sort);
    }

    private async Task<int> BatchAsync(XenstoreClient client, TopSort sort, double delay, long iterations)
    {
        for (long i = 0; i < iterations; i++)
        {
            if (i > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(delay)).ConfigureAwait(false);
            }
            IReadOnlyList<TopDomain> domains = await DomainsAsync(client, sort).ConfigureAwait(false);
            output.Print(TopScreen.Batch(domains, DateTime.Now, sort));
            output.FlushDirect();
        }
        return 0;
    }
}
