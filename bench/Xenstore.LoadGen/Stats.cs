using System.Diagnostics;

namespace Xenstore.LoadGen;

/// <summary>Latency samples in Stopwatch ticks, summarised as microseconds.</summary>
internal sealed class LatencySamples
{
    private long[] _ticks = new long[1 << 16];

    public int Count { get; private set; }

    public void Add(long ticks)
    {
        if (Count == _ticks.Length)
        {
            Array.Resize(ref _ticks, _ticks.Length * 2);
        }
        _ticks[Count++] = ticks;
    }

    public void AddRange(LatencySamples other)
    {
        for (int i = 0; i < other.Count; i++)
        {
            Add(other._ticks[i]);
        }
    }

    /// <summary>The q-quantile (0..1) in microseconds, nearest rank.</summary>
    public double QuantileMicros(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }
        Array.Sort(_ticks, 0, Count);
        int rank = Math.Clamp((int)Math.Ceiling(q * Count) - 1, 0, Count - 1);
        return _ticks[rank] * 1e6 / Stopwatch.Frequency;
    }

    public double MaxMicros() => QuantileMicros(1.0);
}

/// <summary>A small deterministic generator (xorshift) so that runs issue the same operation mix.</summary>
internal struct XorShift(ulong seed)
{
    private ulong _state = seed == 0 ? 0x9E3779B97F4A7C15 : seed;

    public int Next(int bound)
    {
        _state ^= _state << 13;
        _state ^= _state >> 7;
        _state ^= _state << 17;
        return (int)(_state % (ulong)bound);
    }
}
