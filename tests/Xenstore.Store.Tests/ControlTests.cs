using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>CONTROL commands the engine handles itself (reference §8.1).</summary>
public sealed class ControlTests
{
    private readonly EngineHarness _h = new();

    private TestConnection Dom0 => _h.Dom0;

    [Fact]
    public void Check_RepliesOk()
    {
        Dom0.Request(XsMessageType.Control, "check").Is("OK\0");
    }

    [Fact]
    public void Help_ListsCommands()
    {
        Reply r = Dom0.Request(XsMessageType.Control, "help").Success();
        Assert.EndsWith("\0", r.Text, StringComparison.Ordinal);
        foreach (string command in new[] { "check", "help", "quota" })
        {
            Assert.Contains(command + "\t", r.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Quota_WithoutArguments_IsATable()
    {
        Reply r = Dom0.Request(XsMessageType.Control, "quota").Success();
        Assert.Contains("nodes", r.Text, StringComparison.Ordinal);
        Assert.Contains("1000", r.Text, StringComparison.Ordinal);
        Assert.EndsWith("\0", r.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Quota_ForDomain_ShowsUsage()
    {
        TestConnection dom5 = _h.GuestWithHome(5);
        dom5.Write("a", "").Ok();
        dom5.Watch("a", "t").Ok();
        Reply r = Dom0.Request(XsMessageType.Control, "quota", "5").Success();
        Assert.Matches(@"nodes\s*:\s*2\n", r.Text);
        Assert.Matches(@"watches\s*:\s*1\n", r.Text);
        Dom0.Request(XsMessageType.Control, "quota", "44").Success();
        _h.AssertConsistent();
    }

    [Fact]
    public void UnknownOrEmpty_Einval()
    {
        Dom0.Request(XsMessageType.Control, "bogus").Fails("EINVAL");
        Dom0.Raw(XsMessageType.Control, []).Fails("EINVAL");
        Dom0.Request(XsMessageType.Control, "quota", "bogus").Fails("EINVAL");
        Dom0.Request(XsMessageType.Control, "quota", "set", "nodes").Fails("EINVAL");
    }

    [Fact]
    public void OtherCommands_GoToTheHost()
    {
        var output = new RecordingOutput();
        var engine = new XenstoreEngine(new EngineOptions(), output, new EchoHost());
        engine.OpenConnection(1, 0, privileged: true);
        byte[] payload = "print\0hello\0"u8.ToArray();
        engine.Process(1, new XsHeader(XsMessageType.Control, 1, 0, (uint)payload.Length), payload);
        Assert.Equal("print:hello\0", output.Messages.Single().Text);
    }

    private sealed class EchoHost : IEngineHost
    {
        public string? Control(XenstoreEngine engine, int connectionId, string command, IReadOnlyList<string> args) =>
            command == "print" ? command + ":" + string.Join(',', args) : null;
    }
}
