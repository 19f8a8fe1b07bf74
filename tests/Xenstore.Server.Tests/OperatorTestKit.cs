using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>A clock that moves only when told: requests-per-second windows and log rate limits without waiting.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = 1_000_000_000_000;

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, (long)(by.TotalSeconds * TimestampFrequency));
}

/// <summary>Keeps every log line, formatted.</summary>
internal sealed class CapturedLog : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(formatter(state, exception));
    }
}

/// <summary>The operator's CONTROL commands, with every page of a long reply.</summary>
internal static class OperatorControl
{
    public static async Task<string> FetchAsync(RawConnection client, params string[] args)
    {
        var whole = new System.Text.StringBuilder();
        int offset = 0;
        while (true)
        {
            RawMessage reply = await client.RequestAsync(XsMessageType.Control,
                RawPayload.Strings([.. args, "--offset", offset.ToString(CultureInfo.InvariantCulture)]));
            Assert.False(reply.IsError, reply.ToString());
            string text = reply.Text;
            int newline = text.IndexOf('\n', StringComparison.Ordinal);
            int remaining = int.Parse(text[..newline], CultureInfo.InvariantCulture);
            string page = text[(newline + 1)..];
            whole.Append(page);
            offset += page.Length;
            if (remaining == 0)
            {
                return whole.ToString();
            }
        }
    }
}
