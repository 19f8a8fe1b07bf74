using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>The socket scenarios against the embedded server's socket, which batches socket I/O through io_uring.</summary>
public sealed class SocketRobustnessTests : SocketRobustnessScenarios, IClassFixture<SharedDaemons>
{
    private readonly SharedDaemons _daemons;

    public SocketRobustnessTests(SharedDaemons daemons) => _daemons = daemons;

    protected override Task<IDaemonUnderTest> OursAsync() => _daemons.GetAsync("embedded");
}
