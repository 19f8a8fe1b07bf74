using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// The socket scenarios against an embedded server without io_uring (the daemon's <c>--no-io-uring</c>): the
/// fallback used where the kernel has no io_uring (or forbids it) must behave the same.
/// </summary>
public sealed class SocketRobustnessWithoutIoUringTests : SocketRobustnessScenarios, IClassFixture<SocketRobustnessWithoutIoUringTests.Daemon>
{
    private readonly Daemon _daemon;

    public SocketRobustnessWithoutIoUringTests(Daemon daemon) => _daemon = daemon;

    protected override Task<IDaemonUnderTest> OursAsync() => _daemon.GetAsync();

    [Fact]
    public async Task Log_SaysWhichSocketIoIsUsed()
    {
        await using OurDaemon unbatched = await OurDaemon.StartAsync("--no-io-uring", "--no-persistence");
        Assert.True(await LoggedAsync(unbatched, "Sockets: one system call per send and receive"));
        await using OurDaemon batched = await OurDaemon.StartAsync("--no-persistence");
        Assert.True(await LoggedAsync(batched, "Sockets: "));
        if (File.Exists("/proc/sys/kernel/io_uring_disabled") && File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim() == "0")
        {
            Assert.True(await LoggedAsync(batched, "Sockets: io_uring, one submission"));
        }
    }

    /// <summary>The console log is written in the background: waits a while for the line.</summary>
    private static async Task<bool> LoggedAsync(OurDaemon daemon, string text)
    {
        for (int i = 0; i < 100; i++)
        {
            if (daemon.LogLines.Any(line => line.Contains(text, StringComparison.Ordinal)))
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>One embedded server for the class, without io_uring.</summary>
    public sealed class Daemon : IAsyncDisposable
    {
        private readonly Lazy<Task<EmbeddedDaemon>> _daemon = new(() => EmbeddedDaemon.StartAsync(options => options with { UseIoUring = false, StateDirectory = null }));

        public async Task<IDaemonUnderTest> GetAsync() => await _daemon.Value.ConfigureAwait(false);

        public async ValueTask DisposeAsync()
        {
            if (_daemon.IsValueCreated)
            {
                await (await _daemon.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
