using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// 4.21/4.22 requests that C 4.17 answers with ENOSYS (so they cannot be compared): ours must do what
/// xenstore-servers.md §1.3–1.4 and §7 record for 4.22.
/// </summary>
public sealed class NewerProtocolTests
{
    private static async Task<IDaemonUnderTest> OursAsync() => await DaemonKinds.StartAsync("ours");

    [Fact]
    public async Task GetFeature_ReportsErrorWatchDepthAndDomidAny()
    {
        await using IDaemonUnderTest d = await OursAsync();
        await using var c = await RawConnection.ConnectAsync(d);
        RawMessage reply = await c.RequestAsync(XsMessageType.GetFeature, Array.Empty<byte>());
        Assert.Equal(XsMessageType.GetFeature, reply.Type);
        uint features = uint.Parse(reply.Text, CultureInfo.InvariantCulture);
        var wanted = XsServerFeatures.Error | XsServerFeatures.WatchDepth | XsServerFeatures.DomidAny;
        Assert.Equal(wanted, (XsServerFeatures)features & wanted);
    }

    [Fact]
    public async Task GetAndSetQuota_RoundTrip()
    {
        await using IDaemonUnderTest d = await OursAsync();
        await using var c = await RawConnection.ConnectAsync(d);
        RawMessage names = await c.RequestAsync(XsMessageType.GetQuota, Array.Empty<byte>());
        Assert.Equal(XsMessageType.GetQuota, names.Type);
        string[] list = names.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("nodes", list);
        Assert.Contains("watches", list);
        Assert.Contains("transactions", list);
        Assert.Equal("1000", (await c.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("nodes"))).Text);
        Assert.True((await c.RequestAsync(XsMessageType.SetQuota, RawPayload.Strings("nodes", "2000"))).IsOk);
        Assert.Equal("2000", (await c.RequestAsync(XsMessageType.GetQuota, RawPayload.Strings("nodes"))).Text);
        Assert.Equal("ENOSYS", (await c.RequestAsync(XsMessageType.Restrict, RawPayload.Strings("0"))).ErrorName);
    }

    [Fact]
    public async Task WatchDepth_ZeroIsTheNodeOnly_NegativeIsEinval()
    {
        await using IDaemonUnderTest d = await OursAsync();
        await using var c = await RawConnection.ConnectAsync(d);
        Assert.Equal("EINVAL", (await c.RequestAsync(XsMessageType.Watch, RawPayload.Strings("/dw", "t", "-1"))).ErrorName);
        Assert.True((await c.RequestAsync(XsMessageType.Watch, RawPayload.Strings("/dw", "t", "0"))).IsOk);
        Assert.Equal(["/dw", "t"], (await c.NextEventAsync())!.Strings);
        Assert.True((await c.WriteAsync("/dw/child", "v")).IsOk);
        Assert.True((await c.WriteAsync("/dw", "v")).IsOk);
        await c.SyncAsync();
        Assert.Equal([["/dw", "t"]], c.DrainEvents().Select(e => e.Strings.ToArray()).ToArray());
    }
}
