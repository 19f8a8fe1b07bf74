using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xenstore.Xenbus;

XenbusSettings? settings = CommandLine.Parse(args, out string? error);
if (settings is null)
{
    Console.Error.WriteLine($"xenbusd: {error}");
    Console.Error.WriteLine("Try 'xenbusd --help'.");
    return 2;
}
if (settings.ShowHelp)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

using ILoggerFactory loggerFactory = LoggerFactory.Create(builder =>
{
    // Logs go to stderr; stdout carries only the "listening on" line that scripts wait for.
    builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    builder.AddSimpleConsole(o => o.SingleLine = true);
    builder.AddFilter(level => level >= (settings.Verbose ? LogLevel.Debug : LogLevel.Information));
});

string socketPath = settings.SocketPath ?? CommandLine.DefaultSocketPath();
using var daemon = new XenbusDaemon(settings, socketPath, loggerFactory);
try
{
    daemon.Listen();
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
{
    Console.Error.WriteLine($"xenbusd: cannot listen on {socketPath}: {e.Message}");
    return 1;
}
using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    daemon.Stop();
});
using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    daemon.Stop();
});
Console.WriteLine($"xenbusd: listening on {socketPath}, upstream {daemon.Upstream}");
await daemon.RunAsync().ConfigureAwait(false);
return 0;
