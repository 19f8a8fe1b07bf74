using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Xenstore.Daemon.CommandLine;
using Xenstore.Daemon.Startup;
using Xenstore.Server;

namespace Xenstore.Daemon.Hosting;

/// <summary>
/// The Generic Host around the server, kept small (no configuration files, no file watchers: a Xenstore domain
/// has megabytes, not hundreds). Logs go to stderr, one line each; under journald (JOURNAL_STREAM) with the
/// <c>&lt;N&gt;</c> priority prefixes it reads. Under systemd (started by it, or given a NOTIFY_SOCKET) the systemd
/// lifetime sends READY=1 once the server serves and STOPPING=1 on SIGTERM; elsewhere the console lifetime stops on
/// SIGTERM and SIGINT.
/// </summary>
internal static class DaemonHost
{
    public static IHost Build(DaemonSettings settings, ServerOptions options, ReadinessPipe? readiness)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "xenstored",
            ContentRootPath = "/",
        });
        builder.Logging.SetMinimumLevel(settings.Verbose ? LogLevel.Debug : LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")))
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }
        else
        {
            builder.Logging.AddSystemdConsole(o => o.TimestampFormat = null);
        }
        bool systemd = SystemdHelpers.IsSystemdService() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));
        if (systemd)
        {
            builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        else
        {
            builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
            builder.Services.AddSingleton<IHostLifetime, ConsoleLifetime>();
        }
        builder.Services.AddSingleton<IHostedService>(services => new XenstoredService(
            settings, options, services.GetRequiredService<ILoggerFactory>(), services.GetService<ISystemdNotifier>(), readiness));
        return builder.Build();
    }
}
