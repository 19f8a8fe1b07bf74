using Microsoft.Extensions.Logging;

namespace Xenstore.Daemon.Hosting;

/// <summary>
/// The daemon's logs: one line per message on standard error, "info: Category[EventId] message" (the console
/// logger's single-line form), or under journald (JOURNAL_STREAM set) "&lt;6&gt;Category[EventId] message" with the
/// priority prefix it reads. Written here rather than taken from Microsoft.Extensions.Logging.Console because that
/// logger brings options, configuration and a queue thread of its own into the native daemon (see
/// <see cref="DaemonHost"/>), for a few lines a day. Lines are written whole, under a lock, so threads never interleave.
/// </summary>
internal sealed class LineLoggerFactory(LogLevel minimum, bool journald, TextWriter output) : ILoggerFactory
{
    private readonly Lock _writing = new();
    private readonly LogLevel _minimum = minimum;

    /// <summary>The daemon's loggers: stderr, journald's form when journald reads it.</summary>
    public static LineLoggerFactory ForStandardError(LogLevel minimum) =>
        new(minimum, !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")), Console.Error);

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    /// <summary>Providers are not used: every logger writes its lines itself.</summary>
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("the daemon's loggers write to stderr only");

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        string text = exception is null ? message : message + " " + exception;
        string line = (journald ? JournaldPrefix(level) : LevelName(level) + ": ")
            + category + "[" + eventId.Id + "] " + text.ReplaceLineEndings(" ");
        lock (_writing)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    // syslog priorities: debug 7, info 6, warning 4, err 3, crit 2.
    private static string JournaldPrefix(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "<7>",
        LogLevel.Information => "<6>",
        LogLevel.Warning => "<4>",
        LogLevel.Error => "<3>",
        _ => "<2>",
    };

    private sealed class LineLogger(LineLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                factory.Write(logLevel, category, eventId, formatter(state, exception), exception);
            }
        }
    }
}
