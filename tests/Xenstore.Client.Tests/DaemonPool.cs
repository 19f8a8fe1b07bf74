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

    public Task<IDaemonUnderTest> GetAsync(string kind)
    {
        SkipIfUnavailable(kind);
        return _daemons.GetOrAdd(kind, k => new Lazy<Task<IDaemonUnderTest>>(() => StartAsync(k))).Value;
    }

    /// <summary>Starts a daemon of its own for a test that must disturb it.</summary>
    public static async Task<IDaemonUnderTest> StartAsync(string kind)
    {
        SkipIfUnavailable(kind);
        return kind == "ours" ? await OurDaemon.StartAsync() : await ReferenceDaemon.StartOrSkipAsync(kind);
    }

    private static void SkipIfUnavailable(string kind)
    {
        if (kind == "ours" && !File.Exists(OurDaemon.DaemonDll))
        {
            Assert.Skip("our daemon is not built yet: " + OurDaemon.DaemonDll);
        }
    }

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
