using System.Diagnostics;

namespace Xenstore.Robustness.Tests;

/// <summary>Round-trip times of one well-behaved client, in milliseconds.</summary>
public sealed class Latency
{
    private readonly List<double> _samples = [];

    public int Count
    {
        get
        {
            lock (_samples)
            {
                return _samples.Count;
            }
        }
    }

    /// <summary>Times one request.</summary>
    public async Task<T> MeasureAsync<T>(Func<Task<T>> request)
    {
        long start = Stopwatch.GetTimestamp();
        T result = await request();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        lock (_samples)
        {
            _samples.Add(ms);
        }
        return result;
    }

    public double Percentile(double p)
    {
        lock (_samples)
        {
            if (_samples.Count == 0)
            {
                return 0;
            }
            double[] sorted = [.. _samples.Order()];
            return sorted[Math.Min(sorted.Length - 1, (int)(p / 100 * sorted.Length))];
        }
    }

    public double Median => Percentile(50);

    /// <summary>The slowest round trips with their position in the sequence (to tell a warm-up from a stall).</summary>
    public string Slowest(int count)
    {
        lock (_samples)
        {
            return string.Join(", ", _samples.Select((ms, i) => (ms, i)).OrderByDescending(x => x.ms).Take(count).Select(x => $"#{x.i}: {x.ms:F0} ms"));
        }
    }

    public string Describe(string who) => $"{who}: {Count} round trips, p50 {Median:F2} ms, p99 {Percentile(99):F2} ms, max {Percentile(100):F2} ms";
}
