using System.Collections.Concurrent;

namespace Xenstore.TestKit;

/// <summary>
/// A class fixture that starts at most one daemon per kind, on first use, and stops them when the class is done.
/// Tests that share a daemon must work under paths of their own (see <see cref="UniquePath"/>).
/// </summary>
public sealed class SharedDaemons : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IDaemonUnderTest>>> _daemons = new();

    /// <summary>The daemon of <paramref name="kind"/>; skips the calling test when it cannot run here.</summary>
    public Task<IDaemonUnderTest> GetAsync(string kind)
    {
        return _daemons.GetOrAdd(kind, k => new Lazy<Task<IDaemonUnderTest>>(() => DaemonKinds.StartAsync(k))).Value;
    }

    private static int s_counter;

    /// <summary>A fresh absolute path under <c>/t</c>, unique within this test run.</summary>
    public static string UniquePath(string hint) => $"/t/{hint}{Interlocked.Increment(ref s_counter)}";

    public async ValueTask DisposeAsync()
    {
        foreach (Lazy<Task<IDaemonUnderTest>> lazy in _daemons.Values)
        {
            if (!lazy.IsValueCreated)
            {
                continue;
            }
            try
            {
                await (await lazy.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // It never started (a skip or a failure already reported by the test that tried).
            }
        }
    }
}
