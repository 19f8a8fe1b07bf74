using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>CONTROL commands that concern the daemon process rather than the store.</summary>
public sealed class ControlCommandTests : IClassFixture<SharedDaemons>
{
    private readonly SharedDaemons _daemons;

    public ControlCommandTests(SharedDaemons daemons) => _daemons = daemons;

    private static Task<RawMessage> ControlAsync(RawConnection client, params string[] args) =>
        client.RequestAsync(XsMessageType.Control, RawPayload.Strings(args));

    [Fact]
    public async Task Log_SwitchesAreListedAndToggled()
    {
        await using RawConnection client = await RawConnection.ConnectAsync(await _daemons.GetAsync("ours"));
        Assert.Equal("Log switch settings:\nio      : off\nconn    : off\n", (await ControlAsync(client, "log")).Text);
        Assert.Equal("OK", (await ControlAsync(client, "log", "+io")).Text);
        Assert.Equal("Log switch settings:\nio      : on\nconn    : off\n", (await ControlAsync(client, "log")).Text);
        Assert.Equal("OK", (await ControlAsync(client, "log", "on")).Text);
        Assert.Contains("conn    : on", (await ControlAsync(client, "log")).Text, StringComparison.Ordinal);
        Assert.Equal("OK", (await ControlAsync(client, "log", "off")).Text);
        Assert.Equal("EINVAL", (await ControlAsync(client, "log", "+bogus")).ErrorName);
        Assert.Equal("EINVAL", (await ControlAsync(client, "log", "maybe")).ErrorName);
    }

    [Fact]
    public async Task Memreport_ReportsTheHeap()
    {
        await using RawConnection client = await RawConnection.ConnectAsync(await _daemons.GetAsync("ours"));
        string report = (await ControlAsync(client, "memreport")).Text;
        Assert.Contains("heap-size: ", report, StringComparison.Ordinal);
        Assert.Contains("working-set: ", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuotaForDomain_ReportsUsage()
    {
        await using RawConnection client = await RawConnection.ConnectAsync(await _daemons.GetAsync("ours"));
        await client.WriteAsync(SharedDaemons.UniquePath("usage"), "x");
        string usage = (await ControlAsync(client, "quota", "0")).Text;
        Assert.StartsWith("Domain 0:\n", usage, StringComparison.Ordinal);
        Assert.Matches(@"nodes\s+:\s+[1-9][0-9]*\n", usage);
    }
}
