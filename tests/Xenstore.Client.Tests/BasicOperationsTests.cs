using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

public sealed class BasicOperationsTests(DaemonPool pool)
{
    private async Task<XenstoreClient> ConnectAsync(string kind)
    {
        IDaemonUnderTest daemon = await pool.GetAsync(kind);
        return await XenstoreClient.ConnectAsync(daemon.SocketPath);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task WriteThenRead_RoundTripsBinaryValues(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string path = TestPaths.Unique("rw");
        byte[] value = [0, 1, 2, 0xff, (byte)'\n', (byte)'x'];
        await client.WriteAsync(path + "/leaf", value);
        Assert.Equal(value, await client.ReadAsync(path + "/leaf"));
        Assert.Equal("", await client.ReadStringAsync(path));
        await client.WriteAsync(path + "/empty", "");
        Assert.Empty(await client.ReadAsync(path + "/empty"));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task MissingNode_IsTypedNotFound(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string path = TestPaths.Unique("missing");
        var error = await Assert.ThrowsAsync<XenstoreNotFoundException>(() => client.ReadAsync(path));
        Assert.Equal(XsError.ENOENT, error.Error);
        Assert.False(error.IsLocal);
        Assert.Null(await client.TryReadAsync(path));
        Assert.False(await client.ExistsAsync(path));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task ListMkdirRemove_Work(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string path = TestPaths.Unique("dir");
        await client.MkdirAsync(path + "/b");
        await client.WriteAsync(path + "/a", "1");
        Assert.Equal(["a", "b"], (await client.ListAsync(path)).Order());
        Assert.Empty(await client.ListAsync(path + "/a"));
        await client.RemoveAsync(path + "/a");
        Assert.Equal(["b"], await client.ListAsync(path));
        await client.RemoveAsync(path);
        Assert.False(await client.ExistsAsync(path));
        // Removing a missing node is fine; a missing parent is not.
        await client.RemoveAsync(path);
        await Assert.ThrowsAsync<XenstoreNotFoundException>(() => client.RemoveAsync(path + "/x/y"));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task Permissions_RoundTrip(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string path = TestPaths.Unique("perms");
        await client.WriteAsync(path, "v");
        await client.SetPermissionsAsync(path, [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, 5)]);
        Assert.Equal([new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, 5)],
            await client.GetPermissionsAsync(path));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task LargeDirectory_IsListedInParts(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string path = TestPaths.Unique("big");
        string[] names = Enumerable.Range(0, 300).Select(i => $"child-with-a-long-name-{i:D4}").ToArray();
        await Task.WhenAll(names.Select(n => client.WriteAsync(path + "/" + n, "")));
        Assert.True(names.Sum(n => n.Length + 1) > XsConstants.PayloadMax);
        Assert.Equal(names.Order(), (await client.ListAsync(path)).Order());
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task InvalidInput_IsRejectedLocally_AndConnectionSurvives(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        foreach (string bad in new[] { "", "/a//b", "/a/", "/a b", "@releaseDomain" })
        {
            var error = await Assert.ThrowsAsync<XenstoreErrorException>(() => client.ReadAsync(bad));
            Assert.Equal(XsError.EINVAL, error.Error);
            Assert.True(error.IsLocal);
        }
        string path = TestPaths.Unique("big-value");
        var tooBig = await Assert.ThrowsAsync<XenstoreErrorException>(() => client.WriteAsync(path, new byte[XsConstants.PayloadMax]));
        Assert.Equal(XsError.E2BIG, tooBig.Error);
        Assert.True(tooBig.IsLocal);
        Assert.Equal(0, client.Statistics.RequestsSent);
        if (kind == "ocaml")
        {
            return; // oxenstored's own value quota is below the protocol limit.
        }
        // The largest legal payload still goes through.
        byte[] value = new byte[XsConstants.PayloadMax - Encoding.UTF8.GetByteCount(path) - 1];
        await client.WriteAsync(path, value);
        Assert.Equal(value.Length, (await client.ReadAsync(path)).Length);
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task RawRequest_ReturnsErrorReplies(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        (XsMessageType type, byte[] payload) = await client.RequestAsync(XsMessageType.Restrict, "0\0"u8.ToArray());
        Assert.Equal(XsMessageType.Error, type);
        Assert.Equal(XsError.ENOSYS, XsErrors.Parse(payload));
        Assert.Equal("/local/domain/3", await client.GetDomainPathAsync(3));
    }

    [Fact]
    public async Task Connect_ToMissingSocket_FailsWithConnectionError()
    {
        var error = await Assert.ThrowsAsync<XenstoreConnectionException>(
            () => XenstoreClient.ConnectAsync("/nonexistent/xenstored/socket"));
        Assert.IsType<FileNotFoundException>(error.InnerException);
    }

    [Fact]
    public void Endpoint_FollowsLibxenstoreOrder()
    {
        string? path = Environment.GetEnvironmentVariable("XENSTORED_PATH");
        string? rundir = Environment.GetEnvironmentVariable("XENSTORED_RUNDIR");
        try
        {
            Environment.SetEnvironmentVariable("XENSTORED_PATH", null);
            Environment.SetEnvironmentVariable("XENSTORED_RUNDIR", null);
            Assert.Equal("/var/run/xenstored/socket", XenstoreEndpoint.Candidates()[0]);
            Assert.Contains(XenstoreEndpoint.Candidates()[1], new[] { "/dev/xen/xenbus", "/proc/xen/xenbus" });
            Environment.SetEnvironmentVariable("XENSTORED_RUNDIR", "/run/x");
            Assert.Equal("/run/x/socket", XenstoreEndpoint.Candidates()[0]);
            Environment.SetEnvironmentVariable("XENSTORED_PATH", "/tmp/s");
            Assert.Equal(["/tmp/s"], XenstoreEndpoint.Candidates());
        }
        finally
        {
            Environment.SetEnvironmentVariable("XENSTORED_PATH", path);
            Environment.SetEnvironmentVariable("XENSTORED_RUNDIR", rundir);
        }
    }
}
