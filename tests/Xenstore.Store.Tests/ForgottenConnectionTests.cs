using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>
/// A connection the engine has forgotten (closed, or dropped with its domain's release) is answered nothing, even
/// right after a request of its own made it the connection the engine looks for first.
/// </summary>
public sealed class ForgottenConnectionTests
{
    private readonly EngineHarness _h = new();

    private int RepliesAfter(TestConnection connection, Action act)
    {
        int before = _h.Output.Messages.Count;
        act();
        return _h.Output.Messages.Skip(before).Count(m => m.ConnectionId == connection.Id);
    }

    private void ReadWithoutWaiting(TestConnection connection) =>
        _h.Engine.Process(connection.Id, new XsHeader(XsMessageType.Read, 99, 0, 3), "/a\0"u8);

    [Fact]
    public void AClosedConnection_IsAnsweredNothing()
    {
        TestConnection client = _h.Connect(0, privileged: true);
        client.Write("/a", "1").Ok();
        Assert.Equal("1", client.Read("/a").Text);
        _h.Engine.CloseConnection(client.Id);
        Assert.Equal(0, RepliesAfter(client, () => ReadWithoutWaiting(client)));
        Assert.False(_h.Engine.HasConnection(client.Id));
    }

    [Fact]
    public void ARingDroppedWithItsDomain_IsAnsweredNothing()
    {
        _h.Dom0.Write("/a", "1").Ok();
        _h.Dom0.SetPerms("/a", "n0", "r5").Ok();
        _h.Dom0.Request(XsMessageType.Introduce, "5", "1", "1").Ok();
        TestConnection guest = _h.ConnectRing(5);
        Assert.Equal("1", guest.Read("/a").Text);
        // The hypervisor reports the domain dead: no request comes between the guest's last one and the release.
        _h.Engine.Domains.Release(5);
        Assert.Equal(0, RepliesAfter(guest, () => ReadWithoutWaiting(guest)));
        // The engine looks for the next connection afresh too.
        Assert.Equal("1", _h.Dom0.Read("/a").Text);
    }
}
