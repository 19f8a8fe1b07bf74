using System.Net.Sockets;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>The daemons the random comparison runs against, one per kind for the whole class.</summary>
public sealed partial class RandomDifferentialTests
{
    /// <summary>
    /// One daemon per kind for the whole class, started again when it no longer answers (a crashed reference must
    /// not fail every later seed).
    /// </summary>
    public sealed class Daemons : IAsyncDisposable
    {
        private readonly Dictionary<string, IDaemonUnderTest> _running = [];
        private readonly SemaphoreSlim _lock = new(1, 1);

        /// <summary>The daemon of <paramref name="kind"/>; skips the calling test when it cannot run here.</summary>
        public async Task<IDaemonUnderTest> GetAsync(string kind)
        {
            await _lock.WaitAsync();
            try
            {
                if (_running.TryGetValue(kind, out IDaemonUnderTest? daemon))
                {
                    if (await AnswersAsync(daemon))
                    {
                        return daemon;
                    }
                    _running.Remove(kind);
                    await daemon.DisposeAsync();
                }
                daemon = await DaemonKinds.StartAsync(kind);
                _running[kind] = daemon;
                return daemon;
            }
            finally
            {
                _lock.Release();
            }
        }

        private static async Task<bool> AnswersAsync(IDaemonUnderTest daemon)
        {
            try
            {
                await using RawConnection probe = await RawConnection.ConnectAsync(daemon).WaitAsync(TimeSpan.FromSeconds(5));
                RawMessage reply = await probe.RequestAsync(XsMessageType.Read, RawPayload.Strings("/"), timeout: TimeSpan.FromSeconds(5));
                return !reply.IsError;
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (IDaemonUnderTest daemon in _running.Values)
            {
                await daemon.DisposeAsync();
            }
            _running.Clear();
            _lock.Dispose();
        }
    }
}
