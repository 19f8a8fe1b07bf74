using System.Globalization;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.TestKit.Engine;

/// <summary>An engine with a recording output and connections to drive it.</summary>
public sealed class EngineHarness
{
    private int _nextConnectionId = 1;

    public EngineHarness(EngineOptions? options = null)
    {
        Options = options ?? new EngineOptions();
        Output = new RecordingOutput();
        Engine = new XenstoreEngine(Options, Output);
        Dom0 = Connect(0, privileged: true);
    }

    public EngineOptions Options { get; }

    public RecordingOutput Output { get; }

    public XenstoreEngine Engine { get; }

    /// <summary>A privileged socket connection (dom0).</summary>
    public TestConnection Dom0 { get; }

    /// <summary>Opens a connection without introducing anything.</summary>
    public TestConnection Connect(uint domid, bool privileged = false)
    {
        int id = _nextConnectionId++;
        Engine.OpenConnection(id, domid, privileged);
        return new TestConnection(this, id, domid);
    }

    /// <summary>
    /// Opens a domain's ring connection (unprivileged unless the domain is): its watches and transactions are
    /// journalled; <see cref="ConnectionKind.ResumedRing"/> takes over what recovery found for the domain.
    /// </summary>
    public TestConnection ConnectRing(uint domid, ConnectionKind kind = ConnectionKind.Ring)
    {
        int id = _nextConnectionId++;
        Engine.OpenConnection(id, domid, privileged: false, kind);
        return new TestConnection(this, id, domid);
    }

    /// <summary>Introduces a guest domain (from dom0) and opens its unprivileged ring connection.</summary>
    public TestConnection Guest(uint domid)
    {
        Dom0.Request(XsMessageType.Introduce, Str(domid), "1", "1").Ok();
        Dom0.TakeEvents();
        return Connect(domid);
    }

    /// <summary>Creates <c>/local/domain/&lt;domid&gt;</c> owned by the guest, as a toolstack does.</summary>
    public TestConnection GuestWithHome(uint domid)
    {
        TestConnection guest = Guest(domid);
        string home = XsPath.DomainPath(domid);
        Dom0.Mkdir(home).Ok();
        Dom0.SetPerms(home, $"n{domid}").Ok();
        Dom0.TakeEvents();
        return guest;
    }

    public void AssertConsistent() => Assert.Null(Engine.CheckConsistency());

    public static string Str(uint value) => value.ToString(CultureInfo.InvariantCulture);
}
