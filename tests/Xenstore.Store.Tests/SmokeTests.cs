using Xenstore.Store.Tests.Harness;

namespace Xenstore.Store.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void WriteThenRead()
    {
        var h = new EngineHarness();
        h.Dom0.Write("/a", "v").Ok();
        h.Dom0.Read("/a").Is("v");
        h.AssertConsistent();
    }
}
