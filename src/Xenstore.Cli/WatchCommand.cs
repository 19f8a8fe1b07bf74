using Xenstore.Client;

namespace Xenstore.Cli;

/// <summary>
/// xenstore-watch: registers every key (a failure ends the tool), then prints the path of each event, one per
/// line, flushed as it comes; the registration events count; <c>-n NR</c> stops after NR events. With the extra
/// <c>--value</c> each line also shows the node's value at the time it is printed (<c>path = "value"</c>, or the
/// bare path when the node is gone); with <c>--json</c> each event is one JSON object per line.
/// </summary>
internal sealed class WatchCommand(XenstoreClient client, CliOutput output, ToolOptions options)
{
    public async Task RunAsync(string[] keys)
    {
        var registered = new List<XenstoreWatch>();
        XenstoreWatch? watch = null;
        try
        {
            // One registration per key, in order, all feeding one queue so events print in arrival order.
            watch = await client.WatchAsync(keys).ConfigureAwait(false);
        }
        catch (XenstoreException)
        {
            // Find the first key that fails, as the C tool stops at it.
            foreach (string key in keys)
            {
                try
                {
                    registered.Add(await client.WatchAsync(key).ConfigureAwait(false));
                }
                catch (XenstoreException)
                {
                    throw output.Fail(1, $"Unable to add watch on {key}\n");
                }
            }
            throw output.Fail(1, $"Unable to add watch on {keys[0]}\n");
        }
        for (int count = 0; options.WatchCount == -1 || count < options.WatchCount; count++)
        {
            XenstoreWatchEvent? watchEvent = await watch.ReadAsync().ConfigureAwait(false);
            if (watchEvent is null)
            {
                return;
            }
            await PrintAsync(watchEvent.Path).ConfigureAwait(false);
        }
    }

    private async Task PrintAsync(string path)
    {
        if (!options.WatchValue && !options.Json)
        {
            output.Print(path + "\n");
            output.FlushDirect();
            return;
        }
        byte[]? value = path.StartsWith('@') ? null : await StoreTool.ValueOrNull(client.ReadAsync(path)).ConfigureAwait(false);
        if (options.Json)
        {
            output.Print(JsonResult.Event(path, options.WatchValue || value is not null ? value : null) + "\n");
        }
        else
        {
            output.Print(value is null ? path + "\n" : $"{path} = \"{Escaping.Sanitise(value)}\"\n");
        }
        output.FlushDirect();
    }
}
