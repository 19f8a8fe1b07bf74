using System.Collections.Concurrent;
using Xenstore.TestKit;

[assembly: AssemblyFixture(typeof(Xenstore.Client.Tests.DaemonPool))]

namespace Xenstore.Client.Tests;

/// <summary>
/// One daemon of each kind for the whole test assembly (starting one per test would dominate the run time);
/// tests keep apart by working under their own unique path.
/// </summary>
public sealed class DaemonPool : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IDaemonUnderTest>>> _daemons = new();

    /// <summary>
    /// The shared daemon of <paramref name="kind"/>, started by the first test that asks. A reference daemon that
    /// cannot run here skips every test that asks for it; ours not built fails them (<see cref="DaemonKinds.StartAsync"/>).
    /// </summary>
    public Task<IDaemonUnderTest> GetAsync(string kind) =>
        _daemons.GetOrAdd(kind, k => new Lazy<Task<IDaemonUnderTest>>(() => StartAsync(k))).Value;

    /// <summary>Starts a daemon of its own for a test that must disturb it.</summary>
    public static Task<IDaemonUnderTest> StartAsync(string kind) => DaemonKinds.StartAsync(kind);

    public async ValueTask DisposeAsync()
    {
        foreach (Lazy<Task<IDaemonUnderTest>> daemon in _daemons.Values)
        {
            if (daemon.IsValueCreated && daemon.Value.IsCompletedSuccessfully)
            {
                await daemon.Value.Result.DisposeAsync();
            }
        }
    }
}
