using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>CONTROL commands that concern the daemon process rather than the store.</summary>
public sealed class ControlCommandTests : IClassFixture<SharedDaemons>
{
    private readonly SharedDaemons _daemons;

    public ControlCommandTests(SharedDaemons daemons) => _daemons = daemons;

    [Fact]
    public async Task Log_SwitchesAreListedAndToggled()
    {
        await using RawConnection client = await RawConnection.ConnectAsync(await _daemons.GetAsync("embedded"));
        Assert.Equal("Log switch settings:\nio      : off\nconn    : off\nreplay  : off\n", (await client.ControlAsync("log")).Text);
        Assert.Equal("OK", (await client.ControlAsync("log", "+io")).Text);
        Assert.Equal("Log switch settings:\nio      : on\nconn    : off\nreplay  : off\n", (await client.ControlAsync("log")).Text);
        Assert.Equal("OK", (await client.ControlAsync("log", "on")).Text);
        Assert.Contains("conn    : on", (await client.ControlAsync("log")).Text, StringComparison.Ordinal);
        Assert.Equal("OK", (await client.ControlAsync("log", "off")).Text);
        // replay is switched by name only: on and off leave a recording for replay as it is.
        Assert.Equal("OK", (await client.ControlAsync("log", "+replay")).Text);
        Assert.Equal("OK", (await client.ControlAsync("log", "off")).Text);
        Assert.Equal("Log switch settings:\nio      : off\nconn    : off\nreplay  : on\n", (await client.ControlAsync("log")).Text);
        Assert.Equal("OK", (await client.ControlAsync("log", "-replay")).Text);
        Assert.Equal("EINVAL", (await client.ControlAsync("log", "+bogus")).ErrorName);
        Assert.Equal("EINVAL", (await client.ControlAsync("log", "maybe")).ErrorName);
    }

    [Fact]
    public async Task Memreport_ReportsTheHeap()
    {
        await using RawConnection client = await RawConnection.ConnectAsync(await _daemons.GetAsync("embedded"));
        string report = (await client.ControlAsync("memreport")).Text;
        Assert.Contains("heap-size: ", report, StringComparison.Ordinal);
        Assert.Contains("working-set: ", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuotaForDomain_ReportsUsage()
    {
        await using RawConnection client = await RawConnection.ConnectAsync(await _daemons.GetAsync("embedded"));
        await client.WriteAsync(SharedDaemons.UniquePath("usage"), "x");
        string usage = (await client.ControlAsync("quota", "0")).Text;
        Assert.StartsWith("Domain 0:\n", usage, StringComparison.Ordinal);
        Assert.Matches(@"nodes\s+:\s+[1-9][0-9]*\n", usage);
    }

    [Fact]
    public async Task Metrics_CountRequestsErrorsAndTransactions()
    {
        await using EmbeddedDaemon daemon = await EmbeddedDaemon.StartAsync();
        await using RawConnection client = await RawConnection.ConnectAsync(daemon);
        await client.WriteAsync("/m/a", "1");
        Assert.Equal("ENOENT", (await client.ReadAsync("/m/missing")).ErrorName);
        uint tx = await client.StartTransactionIdAsync();
        await client.WriteAsync("/m/b", "2", tx);
        Assert.Equal("OK", (await client.TransactionEndAsync(tx, commit: true)).Text);
        string metrics = await OperatorControl.FetchAsync(client, "metrics");
        Assert.Contains("xenstore_requests_total{type=\"Write\"} 2\n", metrics, StringComparison.Ordinal);
        Assert.Contains("xenstore_errors_total{errno=\"ENOENT\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("xenstore_transactions_committed_total 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("xenstore_connections 1\n", metrics, StringComparison.Ordinal);
        Assert.Matches(@"xenstore_journal_bytes_total [1-9][0-9]*\n", metrics);
        Assert.Matches(@"xenstore_request_duration_microseconds_count [5-9]\n", metrics);
        // The runtime's figures: something was allocated, and a heap exists.
        Assert.Matches(@"dotnet_allocated_bytes_total [1-9][0-9]*\n", metrics);
        Assert.Matches(@"dotnet_gc_heap_bytes [0-9]+\n", metrics);
        Assert.Matches("dotnet_gc_collections_total\\{generation=\"2\"\\} [0-9]+\n", metrics);
    }

    [Fact]
    public async Task MetricsPort_ServesPrometheusTextOnLoopback()
    {
        int port = System.Net.Sockets.TcpListener.Create(0) is var probe ? FreePort(probe) : 0;
        await using EmbeddedDaemon daemon = await EmbeddedDaemon.StartAsync(options => options with { MetricsPort = port });
        await using (RawConnection client = await RawConnection.ConnectAsync(daemon))
        {
            await client.WriteAsync("/p/a", "1");
        }
        using var http = new HttpClient();
        string text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Assert.Contains("# TYPE xenstore_requests_total counter", text, StringComparison.Ordinal);
        Assert.Contains("xenstore_requests_total{type=\"Write\"} 1", text, StringComparison.Ordinal);
    }

    private static int FreePort(System.Net.Sockets.TcpListener listener)
    {
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
