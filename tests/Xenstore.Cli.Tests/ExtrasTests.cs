using System.Text;
using System.Text.Json;
using Xenstore.Client;
using Xenstore.TestKit;

namespace Xenstore.Cli.Tests;

/// <summary>The opt-in additions: --json for read, list and ls; watch --value.</summary>
public sealed class ExtrasTests(ToolRunner tools) : IClassFixture<ToolRunner>
{
    private static async Task<ReferenceDaemon> StartAsync()
    {
        ReferenceDaemon daemon = await ReferenceDaemon.StartOrSkipAsync("c");
        await using XenstoreClient client = await XenstoreClient.ConnectAsync(daemon.SocketPath);
        await client.WriteAsync("/x/a", "hello");
        await client.WriteAsync("/x/bin", new byte[] { 0xff, 0 });
        await client.WriteAsync("/x/d/e", "deep");
        return daemon;
    }

    [Fact]
    public async Task Json_ForReadListAndLs()
    {
        await using ReferenceDaemon daemon = await StartAsync();
        ToolResult read = await tools.RunOursAsync(daemon.SocketPath, ["xenstore-read", "--json", "/x/a", "/x/bin"]);
        Assert.Equal(0, read.ExitCode);
        using (JsonDocument json = JsonDocument.Parse(read.Stdout))
        {
            Assert.Equal("hello", json.RootElement.GetProperty("/x/a").GetString());
            Assert.Equal("/wA=", json.RootElement.GetProperty("/x/bin").GetProperty("base64").GetString());
        }
        ToolResult list = await tools.RunOursAsync(daemon.SocketPath, ["xenstore", "list", "--json", "/x"]);
        using (JsonDocument json = JsonDocument.Parse(list.Stdout))
        {
            Assert.Equal(["a", "bin", "d"], json.RootElement.GetProperty("/x").EnumerateArray().Select(e => e.GetString()!).Order());
        }
        ToolResult ls = await tools.RunOursAsync(daemon.SocketPath, ["xenstore-ls", "--json", "-p", "/x"]);
        using (JsonDocument json = JsonDocument.Parse(ls.Stdout))
        {
            JsonElement e = json.RootElement.GetProperty("/x").GetProperty("d").GetProperty("children").GetProperty("e");
            Assert.Equal("deep", e.GetProperty("value").GetString());
            Assert.Equal("n0", e.GetProperty("perms")[0].GetString());
        }
        // Abbreviations never reach the extras: the default behaviour of 4.17 is untouched.
        ToolResult abbreviated = await tools.RunOursAsync(daemon.SocketPath, ["xenstore-read", "--js", "/x/a"]);
        Assert.Equal("hello\n", Encoding.ASCII.GetString(abbreviated.Stdout));
    }

    [Fact]
    public async Task WatchValue_PrintsTheValueWithEachEvent()
    {
        await using ReferenceDaemon daemon = await StartAsync();
        ToolResult watch = await tools.RunOursAsync(daemon.SocketPath, ["xenstore-watch", "--value", "-n", "1", "/x/a"]);
        Assert.Equal(0, watch.ExitCode);
        Assert.Equal("/x/a = \"hello\"\n", Encoding.ASCII.GetString(watch.Stdout));
    }
}
