using Xenstore.Daemon.CommandLine;
using Xenstore.Daemon.Hosting;
using Xenstore.Daemon.Startup;
using Xenstore.Server;

DaemonSettings? settings = DaemonCommandLine.Parse(args, out string? error);
if (settings is null)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine("Try 'xenstored --help'.");
    return 2;
}
if (settings.ShowHelp)
{
    Console.Write(DaemonOptionTable.Usage());
    return 0;
}
if (settings.PrintManPage)
{
    Console.Write(DaemonManual.Render());
    return 0;
}
ServerOptions? options = ServerOptionsFactory.Create(settings, out error);
if (options is null)
{
    Console.Error.WriteLine(error);
    return 2;
}
ReadinessPipe? readiness = ReadinessPipe.TakeFromEnvironment();
if (readiness is null && !settings.NoFork)
{
    // C xenstored's default: the command returns, the daemon carries on in the background.
    return BackgroundStart.StartAndWait(args);
}
foreach (string warning in settings.Warnings)
{
    Console.Error.WriteLine($"xenstored: warning: {warning}");
}

using var host = new DaemonHost(settings, options, readiness);
try
{
    await host.StartAsync().ConfigureAwait(false);
}
catch (System.Net.HttpListenerException e)
{
    Console.Error.WriteLine($"xenstored: cannot serve metrics on port {settings.MetricsPort}: {e.Message}");
    return 1;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException or DllNotFoundException or EntryPointNotFoundException)
{
    Console.Error.WriteLine(options.SocketPath is null ? $"xenstored: cannot start: {e.Message}" : $"xenstored: cannot listen on {options.SocketPath}: {e.Message}");
    return 1;
}
await host.RunUntilStoppedAsync().ConfigureAwait(false);
return 0;
