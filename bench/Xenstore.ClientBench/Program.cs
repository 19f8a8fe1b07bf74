using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xenstore.Client;

// N callers share one XenstoreClient (one connection) and read in a closed loop; the client keeps up to
// MaxInFlight requests in flight. Compares N = 1 (one request at a time, as libxenstore or the pre-4.11 xenbus
// driver would) with N = 64, against whichever daemon XENSTORED_PATH or --socket names. Every reply is checked.
string? socket = null;
double seconds = 5;
int[] callerCounts = [1, 64];
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--socket": socket = args[++i]; break;
        case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--callers": callerCounts = args[++i].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray(); break;
        default:
            Console.Error.WriteLine("usage: xs-clientbench [--socket PATH] [--seconds S] [--callers 1,64]");
            return 2;
    }
}

await using XenstoreClient client = await XenstoreClient.ConnectAsync(new XenstoreClientOptions { Path = socket, MaxInFlight = 64 });
const int Keys = 64;
for (int k = 0; k < Keys; k++)
{
    await client.WriteAsync($"/clientbench/k{k}", $"value-{k}");
}

var results = new List<(int Callers, double OpsPerSecond)>();
foreach (int callers in callerCounts)
{
    await RunAsync(callers, TimeSpan.FromSeconds(Math.Min(1, seconds / 5)));
    long ops = await RunAsync(callers, TimeSpan.FromSeconds(seconds));
    results.Add((callers, ops / seconds));
}
double baseline = results[0].OpsPerSecond;
Console.WriteLine("| callers sharing one connection | reads/s | vs 1 caller |");
Console.WriteLine("|---|---|---|");
foreach ((int callers, double rate) in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {callers} | {rate:F0} | {rate / baseline:F2}x |"));
}
return 0;

async Task<long> RunAsync(int callers, TimeSpan duration)
{
    long total = 0;
    var stopwatch = Stopwatch.StartNew();
    Task[] tasks = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        long mine = 0;
        int k = c % Keys;
        while (stopwatch.Elapsed < duration)
        {
            byte[] value = await client.ReadAsync($"/clientbench/k{k}");
            if (Encoding.ASCII.GetString(value) != $"value-{k}")
            {
                throw new InvalidDataException($"wrong value for k{k}");
            }
            mine++;
            k = (k + 1) % Keys;
        }
        Interlocked.Add(ref total, mine);
    })).ToArray();
    await Task.WhenAll(tasks);
    return total;
}
