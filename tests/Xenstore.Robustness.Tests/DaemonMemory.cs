using System.Globalization;

namespace Xenstore.Robustness.Tests;

/// <summary>
/// Samples the daemon's resident set size (<c>VmRSS</c> in /proc/PID/status) in the background and keeps the peak.
/// </summary>
public sealed class DaemonMemory : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _peakKiB;

    public DaemonMemory(int pid)
    {
        _pid = pid;
        BaselineKiB = RssKiB(pid);
        _peakKiB = BaselineKiB;
        _sampler = Task.Run(SampleAsync);
    }

    /// <summary>RSS when sampling started.</summary>
    public long BaselineKiB { get; }

    /// <summary>The largest RSS seen so far.</summary>
    public long PeakKiB => Interlocked.Read(ref _peakKiB);

    /// <summary>The current RSS of a process, in KiB.</summary>
    public static long RssKiB(int pid) => TestKit.ProcessMemory.RssKiB(pid);

    /// <summary>Number of sockets a process holds open (assemblies loaded on first use would blur a plain fd count).</summary>
    public static int OpenSockets(int pid) => Directory.GetFiles($"/proc/{pid}/fd")
        .Count(fd => new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true);

    /// <summary>A line for the test output: baseline and peak.</summary>
    public string Describe(string scenario) =>
        $"{scenario}: daemon RSS baseline {BaselineKiB / 1024} MiB, peak {PeakKiB / 1024} MiB";

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                long now = RssKiB(_pid);
                if (now > Interlocked.Read(ref _peakKiB))
                {
                    Interlocked.Exchange(ref _peakKiB, now);
                }
                await Task.Delay(20, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (IOException)
            {
                return; // The daemon is gone; the test notices that on its own.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        _stop.Dispose();
    }
}
