using Xenstore.Client;

// A toolstack's first steps with Xenstore: write a domain's name, read it back, watch it change, and update two
// keys in one transaction. The socket comes from $XENSTORED_PATH or the default path, as for the C tools.
await using XenstoreClient xs = await XenstoreClient.ConnectAsync();

const string Domain = "/local/domain/7";
await xs.WriteAsync($"{Domain}/name", "sample-guest");
Console.WriteLine($"name: {await xs.ReadStringAsync($"{Domain}/name")}");

await using XenstoreWatch watch = await xs.WatchAsync($"{Domain}/memory");
await xs.RunTransactionAsync(async (tx, ct) =>
{
    await tx.WriteAsync($"{Domain}/memory/target", "524288", ct);
    await tx.WriteAsync($"{Domain}/memory/static-max", "1048576", ct);
});
// A new watch fires once for its own path first; the transaction's writes follow.
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
await foreach (XenstoreWatchEvent change in watch.WithCancellation(timeout.Token))
{
    if (change.Path.EndsWith("/target", StringComparison.Ordinal))
    {
        Console.WriteLine($"changed: {change.Path}");
        break;
    }
}
Console.WriteLine($"memory: {string.Join(",", await xs.ListAsync($"{Domain}/memory"))}");
await xs.RemoveAsync(Domain);
return 0;
