using Xenstore.Client;
using Xenstore.HostSim;
using Xenstore.HostSim.Report;

switch (HostSimCommandLine.Parse(args, out HostSimOptions options, out string? error))
{
    case CommandLineOutcome.Help:
        Console.Out.WriteLine(HostSimCommandLine.Usage);
        return 0;
    case CommandLineOutcome.Error:
        Console.Error.WriteLine($"xenstore-hostsim: {error}");
        Console.Error.WriteLine("Try 'xenstore-hostsim --help' for more information.");
        return 2;
}

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    interrupted.Cancel();
};
HostSimReport report;
try
{
    report = await new HostSimulation(options).RunAsync(interrupted.Token).ConfigureAwait(false);
}
catch (XenstoreException e)
{
    Console.Error.WriteLine($"xenstore-hostsim: {e.Message}");
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("xenstore-hostsim: interrupted");
    return 1;
}
Console.Out.Write(options.Json ? ReportWriter.Json(report) + Environment.NewLine : ReportWriter.Table(report));
return report.Passed ? 0 : 1;
